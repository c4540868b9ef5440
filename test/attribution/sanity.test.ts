import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { depthsToShow, randomisableLayers, runSanity } from '../../src/attribution/index.js';
import { generateDataset } from '../../src/data/index.js';
import { sha256File } from '../../src/io/index.js';
import { createModel, saveModel } from '../../src/nn/index.js';
import { useCpu } from '../nn/helpers.js';

let root: string;
before(async () => {
  await useCpu();
  root = await mkdtemp(join(tmpdir(), 'fiveband-sanity-'));
  await generateDataset({ out: join(root, 'data'), size: 64, seed: 4, shards: { train: 0, val: 0, test: 1 }, perShard: 3, workers: 1 });
  const model = createModel({ arch: 'alexnet', inputSize: 64, numClasses: 10, width: 0.0625 }, 3);
  await saveModel(join(root, 'model'), model);
  model.dispose();
});

describe('sanity checks', () => {
  it('layers are the weights of rank >= 2 in forward order, biases joining them; depths from the top to all', () => {
    const model = createModel({ arch: 'alexnet', inputSize: 64, numClasses: 10, width: 0.0625 }, 1);
    const layers = randomisableLayers(model);
    assert.deepEqual(layers.map((l) => l.name), ['backbone.features.0', 'backbone.features.3', 'backbone.features.6', 'backbone.features.8', 'backbone.features.10', 'fc1', 'fc2', 'fc3']);
    assert.deepEqual(layers[0]!.parameters, ['backbone.features.0.weight', 'backbone.features.0.bias']);
    assert.equal(layers.flatMap((l) => l.parameters).length, model.trainable.size);
    model.dispose();
    assert.deepEqual(depthsToShow(8, 4), [1, 3, 6, 8]);
    assert.deepEqual(depthsToShow(3, 6), [1, 2, 3]);
  });

  it('a gradient map changes with a random model, a null explainer does not; the trained weights are left as they were', async () => {
    const out = join(root, 'out');
    const weights = await sha256File(join(root, 'model', 'weights.safetensors'));
    const result = await runSanity({ modelDir: join(root, 'model'), dataDir: join(root, 'data'), out, methods: 'Saliency,NullBlob', limit: 3, points: 2, backend: 'cpu' });
    const full = (method: string) => result.steps.find((s) => s.method === method && s.mode === 'cascading' && s.layers === result.layers.length)!;
    assert.ok(full('Saliency').spearman_abs! < 0.9, String(full('Saliency').spearman_abs));
    assert.equal(full('NullBlob').spearman_abs, 1);
    assert.ok(Math.abs(full('NullBlob').ssim_abs! - 1) < 1e-12);
    assert.deepEqual(result.insensitive, ['NullBlob']);
    assert.equal(result.steps.length, 2 * 2 * 2); // methods × modes × depths
    assert.equal(await sha256File(join(root, 'model', 'weights.safetensors')), weights);
    // Five-band scores of the randomised maps are there; the CSV has a row per step.
    assert.ok(result.steps.every((s) => s.Rmu !== null && s.Pmu !== null));
    const csv = (await readFile(join(out, 'sanity.csv'), 'utf8')).trimEnd().split('\n');
    assert.equal(csv[0], 'method,mode,layers,layer,spearman_abs,spearman_signed,ssim_abs,Rmu,Pmu');
    assert.equal(csv.length, 1 + result.steps.length);
    // Deterministic: a second run writes the same bytes.
    const again = join(root, 'again');
    await runSanity({ modelDir: join(root, 'model'), dataDir: join(root, 'data'), out: again, methods: 'Saliency,NullBlob', limit: 3, points: 2, backend: 'cpu' });
    assert.equal(await sha256File(join(again, 'sanity.csv')), await sha256File(join(out, 'sanity.csv')));
  });

  it('the random-label check compares with another model of the same architecture; the model itself agrees exactly', async () => {
    const other = createModel({ arch: 'alexnet', inputSize: 64, numClasses: 10, width: 0.0625 }, 9);
    await saveModel(join(root, 'other'), other);
    other.dispose();
    const check = (randomLabelModel: string, out: string) => runSanity({
      modelDir: join(root, 'model'), dataDir: join(root, 'data'), out: join(root, out), methods: 'Saliency', limit: 3, points: 2, backend: 'cpu', randomLabelModel,
    });
    const same = await check(join(root, 'model'), 'same');
    const step = same.steps.find((s) => s.mode === 'random-labels')!;
    assert.equal(same.steps.length, 2 * 2 + 1);
    assert.equal(step.spearman_abs, 1);
    assert.equal(step.layers, same.layers.length);
    assert.equal(step.Rmu, same.trained.Saliency!.Rmu);
    assert.equal(step.Pmu, same.trained.Saliency!.Pmu);
    const differs = await check(join(root, 'other'), 'other-out');
    assert.ok(differs.steps.find((s) => s.mode === 'random-labels')!.spearman_abs! < 0.9);
    assert.equal(differs.randomLabelModel, join(root, 'other'));
    assert.match((await readFile(join(root, 'other-out', 'sanity.csv'), 'utf8')), /\nSaliency,random-labels,8,all \(shuffled-label training\),/);
    const wide = createModel({ arch: 'alexnet', inputSize: 64, numClasses: 10, width: 0.125 }, 9);
    await saveModel(join(root, 'wide'), wide);
    wide.dispose();
    await assert.rejects(check(join(root, 'wide'), 'wide-out'), /must have .*'s architecture/);
  });
});
