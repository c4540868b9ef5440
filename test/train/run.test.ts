import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateDataset } from '../../src/data/index.js';
import { UserError } from '../../src/io/index.js';
import { evaluateModel, runTraining } from '../../src/train/index.js';

let root: string;
let data: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fiveband-train-run-'));
  data = join(root, 'ds');
  await generateDataset({ out: data, size: 64, seed: 3, shards: { train: 1, val: 1, test: 1 }, perShard: 4, workers: 1 });
});
after(() => rm(root, { recursive: true, force: true }));

test('runTraining: the train command as a library call (profile, overrides, report lines); evaluateModel writes its JSON', async () => {
  const out = join(root, 'alex');
  const progress: number[] = [];
  // What a kill -9 mid-checkpoint leaves (a dead writer's temporary file) is removed when training starts again.
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  const stale = join(out, `checkpoint.safetensors.tmp-${dead}-0123abcd`);
  await mkdir(out, { recursive: true });
  await writeFile(stale, 'half a checkpoint');
  const result = await runTraining({
    arch: 'alexnet', dataDir: data, out, size: 64, width: 0.1, epochs: 2, batch: 4, backend: 'cpu',
    onProgress: (iteration) => progress.push(iteration),
  });
  assert.equal(result.mode, 'continuous');
  assert.deepEqual(result.spec, { arch: 'alexnet', inputSize: 64, numClasses: 10, width: 0.1 });
  assert.equal(result.hyper.lrDecayEpoch, 0, 'the small profile decays its last 2 epochs');
  assert.equal(result.summary.mode, 'continuous');
  assert.equal(result.summary.mode === 'continuous' && result.summary.result.iterations, 2);
  assert.match(result.lines[0]!, /^trained alexnet \(continuous, input 64, width 0.1\) into .* in \d+\.\d s$/);
  assert.match(result.lines[1]!, /^ {2}2 epochs, 2 iterations, final average loss/);
  assert.ok(progress.length > 0);
  for (const f of ['weights.safetensors', 'arch.json', 'curves.csv', 'summary.json']) assert.ok(existsSync(join(out, f)), f);
  assert.equal(existsSync(stale), false, 'the dead writer\'s temporary file is gone');

  const evaluation = await evaluateModel({ modelDir: out, dataDir: data, split: 'val', backend: 'cpu' });
  assert.equal(evaluation.out, join(out, 'eval-val.json'));
  assert.equal(evaluation.total, 4);
  assert.equal(evaluation.confusion.flat().reduce((a, b) => a + b, 0), 4);
  const written = JSON.parse(await readFile(evaluation.out, 'utf8'));
  assert.deepEqual([written.split, written.accuracy, written.correct, written.confusion], ['val', evaluation.accuracy, evaluation.correct, evaluation.confusion]);

  await assert.rejects(runTraining({ arch: 'alexnet', dataDir: data, out: join(root, 'x'), mode: 'mab' }), (e) => e instanceof UserError && /--mode mab needs the spa model/.test(e.message));
  await assert.rejects(runTraining({ arch: 'alexnet', dataDir: data, out: join(root, 'x'), classes: 3 }), UserError);
  assert.ok(!existsSync(join(root, 'x')));
});

test('--shuffle-labels: labels permuted within each shard (seeded, class counts kept, test split untouched); the run records it', async () => {
  const { openDataset } = await import('../../src/data/index.js');
  const { trainingDataOf, withShuffledLabels } = await import('../../src/train/index.js');
  const big = join(root, 'big');
  await generateDataset({ out: big, size: 64, seed: 5, shards: { train: 2, val: 1, test: 1 }, perShard: 40, workers: 1 });
  const plain = trainingDataOf(await openDataset(big));
  const shuffled = withShuffledLabels(plain, 7);
  assert.equal(shuffled.shuffledLabels, true);
  assert.equal(shuffled.test, plain.test);
  for (const [set, other, index] of [[plain.train, shuffled.train, 0], [plain.train, shuffled.train, 1], [plain.validation, shuffled.validation, 0]] as const) {
    const [a, b, again] = [await set.load(index), await other.load(index), await other.load(index)];
    assert.deepEqual(Array.from(b.labels).sort(), Array.from(a.labels).sort(), 'a permutation');
    assert.ok(Array.from(b.labels).some((label, i) => label !== a.labels[i]), 'moved');
    assert.deepEqual(Array.from(again.labels), Array.from(b.labels), 'deterministic');
    assert.ok(Buffer.from(b.images).equals(Buffer.from(a.images)), 'images kept');
  }
  const otherSeed = await withShuffledLabels(plain, 8).train.load(0);
  assert.notDeepEqual(Array.from(otherSeed.labels), Array.from((await shuffled.train.load(0)).labels));

  const out = join(root, 'shuffled');
  const result = await runTraining({ arch: 'alexnet', dataDir: data, out, size: 64, width: 0.1, epochs: 1, batch: 4, backend: 'cpu', shuffleLabels: true });
  assert.match(result.lines[1]!, /labels shuffled$/);
  assert.equal(JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')).shuffledLabels, true);
  await assert.rejects(runTraining({ arch: 'alexnet', dataDir: data, out, size: 64, width: 0.1, epochs: 1, batch: 4, backend: 'cpu' }),
    (err: Error) => err instanceof UserError && /holds a model trained on shuffled labels/.test(err.message));
  await assert.rejects(runTraining({ arch: 'alexnet', dataDir: data, out: join(root, 'sb'), mode: 'branches', size: 64, width: 0.1, backend: 'cpu', shuffleLabels: true }),
    (err: Error) => err instanceof UserError && /use --mode continuous/.test(err.message));
});
