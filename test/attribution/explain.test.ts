import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { explainDataset, scoreAttributions, type ExplainOptions } from '../../src/attribution/index.js';
import { bandsToGroundTruth, generateDataset, openDataset, resizeBands } from '../../src/data/index.js';
import { readSafetensors } from '../../src/io/index.js';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, saveModel, type ArchSpec } from '../../src/nn/index.js';
import { initBackend } from '../../src/compute/index.js';
import { BIN, CLI_TIMEOUT_MS, fiveband } from '../helpers/cli.js';

const SIZE = 64;

let root: string;
let data: string;
const models: Record<string, string> = {};

before(async () => {
  await initBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'fiveband-explain-'));
  data = join(root, 'data');
  await generateDataset({ out: data, size: SIZE, seed: 2, shards: { train: 0, val: 0, test: 2 }, perShard: 3, workers: 1 });
  const specs: Record<string, ArchSpec> = {
    spa: { arch: 'spa', inputSize: SIZE, numClasses: 10, width: 1 },
    alexnet: { arch: 'alexnet', inputSize: SIZE, numClasses: 10, width: 0.0625 },
    resized: { arch: 'spa', inputSize: 48, numClasses: 10, width: 1 },
    wrongClasses: { arch: 'spa', inputSize: SIZE, numClasses: 3, width: 1 },
  };
  for (const [name, spec] of Object.entries(specs)) {
    models[name] = join(root, name);
    const model = createModel(spec, 1);
    await saveModel(models[name], model);
    model.dispose();
  }
  // An SPA whose last mab layer is zero: every heatmap logit ties, argmax picks band 0, every mab map is all zero.
  models.flatMab = join(root, 'flatMab');
  const flat = createModel(specs.spa!, 1);
  const last = flat.trainable.get('mab.3.weight')!;
  last.assign(tf.zerosLike(last));
  await saveModel(models.flatMab, flat);
  flat.dispose();
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const base = (out: string, extra: Partial<ExplainOptions> = {}): ExplainOptions => ({
  modelDir: models.spa!, dataDir: data, split: 'test', methods: 'Saliency,GradientShap,mab', outDir: out, target: 'pred',
  seed: 4, workers: 1, batch: 2, internalBatchSize: 16, steps: 4, backend: 'cpu', ...extra,
});

async function filesOf(out: string): Promise<Record<string, Buffer>> {
  const result: Record<string, Buffer> = {};
  for (const method of await readdir(join(out, 'attributions'), { withFileTypes: true })) {
    if (!method.isDirectory()) continue;
    for (const f of await readdir(join(out, 'attributions', method.name))) {
      result[`${method.name}/${f}`] = await readFile(join(out, 'attributions', method.name, f));
    }
  }
  return result;
}

describe('explainDataset', () => {
  it('writes n×c×N×N float32 files with ids, labels, predictions and targets; target pred or true', async () => {
    const out = join(root, 'pred');
    const result = await explainDataset(base(out));
    assert.deepEqual(result.methods, ['Saliency', 'GradientShap', 'mab']);
    assert.equal(result.computed.length, 6);
    const dataset = await openDataset(data);
    const shard = await dataset.readShard('test', 1);
    const saliency = await readSafetensors(join(out, 'attributions', 'Saliency', 'shard-0001.safetensors'));
    assert.deepEqual(saliency.tensors.attributions!.shape, [3, 3, SIZE, SIZE]);
    assert.equal(saliency.tensors.attributions!.dtype, 'F32');
    assert.deepEqual(JSON.parse(saliency.metadata.ids!), shard.ids);
    assert.deepEqual(JSON.parse(saliency.metadata.labels!), Array.from(shard.labels));
    assert.deepEqual(JSON.parse(saliency.metadata.targets!), JSON.parse(saliency.metadata.predicted!));
    assert.ok((saliency.tensors.attributions!.data as Float32Array).every((v) => v >= 0), 'Saliency is absolute');
    const mab = await readSafetensors(join(out, 'attributions', 'mab', 'shard-0000.safetensors'));
    assert.deepEqual(mab.tensors.attributions!.shape, [3, 1, SIZE, SIZE]);
    assert.ok((mab.tensors.attributions!.data as Float32Array).every((v) => [0, Math.fround(0.4), Math.fround(0.9)].includes(v)));

    // A model of another input size explains the resized images (as the reference's 224-pixel AlexNet / VGG).
    const resizedOut = join(root, 'resized');
    await explainDataset(base(resizedOut, { methods: 'Saliency,GroundTruth', modelDir: models.resized! }));
    // GroundTruth writes the truth the scores use: the dataset's, resized to the model's input and re-banded.
    const truthMap = await readSafetensors(join(resizedOut, 'attributions', 'GroundTruth', 'shard-0001.safetensors'));
    assert.deepEqual(truthMap.tensors.attributions!.data, bandsToGroundTruth(resizeBands(shard.bands, 3, SIZE, 48)));
    const resized = await readSafetensors(join(resizedOut, 'attributions', 'Saliency', 'shard-0000.safetensors'));
    assert.deepEqual(resized.tensors.attributions!.shape, [3, 3, 48, 48]);
    const [scored] = await scoreAttributions({ outDir: resizedOut, dataDir: data, split: 'test', arch: 'spa', methods: ['Saliency'], workers: 1 });
    assert.equal(scored!.preset, 'v2');
    assert.equal(scored!.summary.n, 6);
    // `fiveband score --data` resizes the dataset's ground truth to the heatmaps' size as explain does
    const viaScore = fiveband('score', '--heatmaps', `Saliency=${join(resizedOut, 'attributions', 'Saliency')}`, '--data', data, '--setting', 'v2', '--workers', '1', '--out', join(root, 'resized-via-score'));
    assert.equal(viaScore.code, 0, viaScore.stderr);
    for (const file of ['Saliency.csv', 'scores_long.csv', 'metrics.csv', 'summary.json']) {
      assert.equal(await readFile(join(root, 'resized-via-score', file), 'utf8'), await readFile(join(resizedOut, 'scores', 'v2', file), 'utf8'), file);
    }

    const trueOut = join(root, 'true');
    await explainDataset(base(trueOut, { methods: 'Saliency', target: 'true' }));
    const byTrue = await readSafetensors(join(trueOut, 'attributions', 'Saliency', 'shard-0001.safetensors'));
    assert.deepEqual(JSON.parse(byTrue.metadata.targets!), Array.from(shard.labels));
  });

  it('gives byte-identical files with 1 or 2 worker threads, and resumes only missing or damaged files', async () => {
    const one = join(root, 'one');
    const two = join(root, 'two');
    await explainDataset(base(one, { methods: 'DeepLiftShap,GuidedGradCam', modelDir: models.alexnet! }));
    await explainDataset(base(two, { methods: 'DeepLiftShap,GuidedGradCam', modelDir: models.alexnet!, workers: 2 }));
    const reference = await filesOf(one);
    assert.equal(Object.keys(reference).length, 4);
    assert.deepEqual(await filesOf(two), reference);

    await unlink(join(two, 'attributions', 'DeepLiftShap', 'shard-0000.safetensors'));
    const damaged = join(two, 'attributions', 'GuidedGradCam', 'shard-0001.safetensors');
    const bytes = await readFile(damaged);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(damaged, bytes);
    const resumed = await explainDataset(base(two, { methods: 'DeepLiftShap,GuidedGradCam', modelDir: models.alexnet! }));
    assert.deepEqual(resumed.computed.sort(), ['DeepLiftShap/shard-0000.safetensors', 'GuidedGradCam/shard-0001.safetensors']);
    assert.equal(resumed.skipped.length, 2);
    assert.deepEqual(await filesOf(two), reference);
  });
});

describe('explainDataset limit', () => {
  it('explains only the first k samples in shard order; scoring follows; another limit in the same folder is refused', async () => {
    const out = join(root, 'limited');
    const result = await explainDataset(base(out, { methods: 'Saliency', limit: 4 }));
    assert.equal(result.samples, 4);
    assert.deepEqual(result.computed, ['Saliency/shard-0000.safetensors', 'Saliency/shard-0001.safetensors']);
    const dataset = await openDataset(data);
    const second = await readSafetensors(join(out, 'attributions', 'Saliency', 'shard-0001.safetensors'));
    assert.deepEqual(second.tensors.attributions!.shape, [1, 3, SIZE, SIZE]);
    assert.deepEqual(JSON.parse(second.metadata.ids!), (await dataset.readShard('test', 1)).ids.slice(0, 1));
    assert.equal(JSON.parse(second.metadata.config!).limit, 4);
    // scoreAttributions reads the limit from the attributions' manifest
    const [scored] = await scoreAttributions({ outDir: out, dataDir: data, split: 'test', arch: 'spa', methods: ['Saliency'], workers: 1 });
    assert.equal(scored!.summary.n, 4);
    // a limit within the first shard writes one file per method
    const small = await explainDataset(base(join(root, 'limited-2'), { methods: 'Saliency', limit: 2 }));
    assert.deepEqual([small.samples, small.computed], [2, ['Saliency/shard-0000.safetensors']]);
    for (const other of [{ limit: 3 }, {}]) {
      await assert.rejects(explainDataset(base(out, { methods: 'Saliency', ...other })), /holds attributions made with a different limit/);
    }
    // without a limit, the configuration (and so the files) are those of before limits existed
    const unlimited = await explainDataset(base(join(root, 'unlimited'), { methods: 'Saliency' }));
    assert.equal('limit' in unlimited.config, false);
  });
});

describe('fiveband explain', () => {
  it('runs end to end and says what it wrote', () => {
    const out = join(root, 'cli');
    const r = fiveband('explain', '--model', models.spa!, '--data', data, '--out', out, '--methods', 'InputXGradient', '--no-score', '--backend', 'cpu');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /InputXGradient on test; wrote 2 files, kept 0 verified files/);
    const again = fiveband('explain', '--model', models.spa!, '--data', data, '--out', out, '--methods', 'InputXGradient', '--no-score', '--backend', 'cpu');
    assert.match(again.stdout, /wrote 0 files, kept 2 verified files/);
    const otherSeed = fiveband('explain', '--model', models.spa!, '--data', data, '--out', out, '--methods', 'InputXGradient', '--no-score', '--seed', '9', '--backend', 'cpu');
    assert.equal(otherSeed.code, 2);
    assert.match(otherSeed.stderr, /^fiveband: .*holds attributions made with a different seed; use another --out or the same settings\n$/);
  });

  it('killed with SIGKILL once some files are done, the same command resumes to the uninterrupted run\'s bytes', async () => {
    const args = (out: string) => [BIN, 'explain', '--model', models.spa!, '--data', data, '--out', out, '--methods', 'Saliency,InputXGradient', '--workers', '1', '--backend', 'cpu'];
    const whole = join(root, 'kill-whole');
    assert.equal(spawnSync(process.execPath, args(whole), { encoding: 'utf8', timeout: CLI_TIMEOUT_MS }).status, 0);
    const killed = join(root, 'kill-resumed');
    const child = spawn(process.execPath, args(killed), { stdio: 'ignore' });
    const exited = new Promise((resolve) => child.on('exit', resolve));
    // Kill as soon as the attribution manifest records a finished file: mid-run, with others in flight.
    for (let waited = 0; waited < 120_000; waited += 10) {
      const text = await readFile(join(killed, 'attributions', 'manifest.json'), 'utf8').catch(() => '');
      if (/"sha256"/.test(text)) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    child.kill('SIGKILL');
    await exited;
    const partial = Object.keys(await filesOf(killed)).filter((f) => f.endsWith('.safetensors'));
    assert.ok(partial.length >= 1 && partial.length < 4, `killed mid-run (${partial.length} of 4 files)`);
    const resumed = spawnSync(process.execPath, args(killed), { encoding: 'utf8', timeout: CLI_TIMEOUT_MS });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stdout, /kept [1-3] verified files/);
    const [a, b] = [await filesOf(whole), await filesOf(killed)];
    assert.deepEqual(Object.keys(b).sort(), Object.keys(a).sort());
    for (const name of Object.keys(a)) assert.ok(a[name]!.equals(b[name]!), name);
    for (const file of ['Saliency.csv', 'InputXGradient.csv', 'scores_long.csv', 'summary.json']) {
      const scores = async (out: string) => readFile(join(out, 'scores', 'v2', file), 'utf8');
      assert.equal(await scores(killed), await scores(whole), `scores/v2/${file}`);
    }
  });

  it('scores the attributions with the paper presets unless --no-score (SPA: v2 and mab)', async () => {
    const out = join(root, 'scored');
    const r = fiveband('explain', '--model', models.spa!, '--data', data, '--out', out, '--methods', 'Saliency,mab', '--backend', 'cpu');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /setting v2 \(56 threshold sets\)[\s\S]*Saliency  6 [\s\S]*setting mab \(1 threshold sets\)[\s\S]*mab +6 /);
    assert.deepEqual((await readdir(join(out, 'scores'))).sort(), ['mab', 'v2']);
    const csv = (await readFile(join(out, 'scores', 'v2', 'Saliency.csv'), 'utf8')).trim().split('\n');
    assert.equal(csv[0], 'id,y0,y_pred,pred_is_correct,Amu,Au,Au1,Rmu,Ru,Ru1,Pmu,Pu,Pu1');
    assert.equal(csv.length, 1 + 6);
    const dataset = await openDataset(data);
    const shard = await dataset.readShard('test', 0);
    const stored = await readSafetensors(join(out, 'attributions', 'Saliency', 'shard-0000.safetensors'));
    const predicted = JSON.parse(stored.metadata.predicted!) as number[];
    csv.slice(1, 4).forEach((line, i) => {
      const [id, y0, yPred, correct] = line.split(',');
      assert.deepEqual([id, Number(y0), Number(yPred), correct], [shard.ids[i], shard.labels[i], predicted[i], shard.labels[i] === predicted[i] ? '1' : '0']);
    });
    // The same files through `fiveband score --data` (the scoring stage's own reading of our shards).
    const viaScore = fiveband('score', '--heatmaps', `Saliency=${join(out, 'attributions', 'Saliency')}`, '--data', data, '--setting', 'v2', '--workers', '1', '--out', join(root, 'via-score'));
    assert.equal(viaScore.code, 0, viaScore.stderr);
    assert.equal(await readFile(join(root, 'via-score', 'Saliency.csv'), 'utf8'), await readFile(join(out, 'scores', 'v2', 'Saliency.csv'), 'utf8'));
    const roc = (await readFile(join(out, 'scores', 'mab', 'roc_mab.csv'), 'utf8')).trim().split('\n');
    assert.equal(roc.length, 1 + 1, 'one threshold set for mab');
  });

  it('--limit k explains the first k samples; degenerate heatmaps are named on stderr as score names them', () => {
    const out = join(root, 'cli-limit');
    const r = fiveband('explain', '--model', models.flatMab!, '--data', data, '--out', out, '--methods', 'mab', '--limit', '4', '--workers', '1', '--backend', 'cpu');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /mab on test \(first 4 samples\); wrote 2 files, kept 0 verified files/);
    assert.match(r.stdout, /setting mab \(1 threshold sets\)[\s\S]*mab +4 /);
    assert.match(r.stderr, /^fiveband: note: mab: 4 heatmap\(s\) with an all-zero channel sum scored as band 0 everywhere \(ids: test\/shard-0000\/0, test\/shard-0000\/1, test\/shard-0000\/2, test\/shard-0001\/0\)$/m);
    const other = fiveband('explain', '--model', models.flatMab!, '--data', data, '--out', out, '--methods', 'mab', '--limit', '5', '--no-score', '--backend', 'cpu');
    assert.equal(other.code, 2);
    assert.match(other.stderr, /holds attributions made with a different limit/);
  });

  it('--help states each default once', () => {
    const r = fiveband('explain', '--help');
    assert.equal(r.code, 0, r.stderr);
    const workers = /--workers <k>([\s\S]*?)\n\s+--/.exec(r.stdout)?.[1] ?? '';
    assert.match(workers, /default: all cores/);
    assert.equal(workers.match(/default/g)?.length, 1, workers);
    assert.match(r.stdout, /--limit <k>/);
  });

  it('bad input: one line on stderr, exit code 2', () => {
    const out = join(root, 'bad');
    const cases: Array<[string[], RegExp]> = [
      [['--model', models.spa!, '--methods', 'Saliency,Lime'], /unknown attribution method "Lime"/],
      [['--model', models.spa!, '--methods', 'LRP'], /method LRP does not apply to a spa model/],
      [['--model', models.alexnet!, '--methods', 'mab'], /method mab does not apply to a alexnet model/],
      [['--model', models.wrongClasses!], /the model has 3 classes but the dataset has 10/],
      [['--model', models.spa!, '--layer', 'features.0'], /unknown layer "features.0"; the model's layers are: convs.0/],
      [['--model', models.spa!, '--target', 'best'], /--target must be one of pred, true/],
      [['--model', join(root, 'nowhere')], /nowhere/],
    ];
    for (const [args, message] of cases) {
      const r = fiveband('explain', '--data', data, '--out', out, '--no-score', '--backend', 'cpu', ...args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });
});
