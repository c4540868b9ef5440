import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cloneModel, createModel, type Model } from '../../src/nn/index.js';
import { Rng } from '../../src/rng/index.js';
import { Adam, StepRunner, disposeBatch, trainStep, type Batch } from '../../src/train/index.js';
import { randomImages, spec } from '../nn/helpers.js';
import { tf } from './setup.js';

function randomBatch(seed: number, n: number, size: number, withBands: boolean): Batch {
  const rng = Rng.derive(seed, 'parallel-test');
  const batch: Batch = {
    x: randomImages(n, size, seed),
    labels: tf.tensor1d(Int32Array.from({ length: n }, () => rng.int(0, 10)), 'int32'),
  };
  if (withBands) batch.bands = tf.tensor3d(Int32Array.from({ length: n * size * size }, () => rng.int(0, 3)), [n, size, size], 'int32');
  return batch;
}

function stateBytes(model: Model): Map<string, string> {
  return new Map([...model.trainable, ...model.buffers].map(([name, v]) => [name, Buffer.from(v.dataSync().buffer).toString('base64')]));
}

const adamOf = (model: Model) => new Adam(model.trainable, { lr: 1e-2, betas: [0.9, 0.999], weightDecay: 1e-5 });

for (const { arch, lambda } of [
  { arch: spec('spa', 48), lambda: 5 },
  { arch: spec('alexnet', 64, 10, 0.0625), lambda: undefined },
  { arch: spec('resnet34', 32, 10, 0.0625), lambda: undefined },
]) {
  test(`${arch.arch}: a step's micro-batches give byte-identical results on 1 or 2 threads, without leaking tensors`, async () => {
    const single = createModel(arch, 4);
    const parallel = createModel(arch, 4);
    const adamSingle = adamOf(single);
    const adamParallel = adamOf(parallel);
    const runner = await StepRunner.start(parallel, { microBatches: 3, threads: 2, ...(lambda === undefined ? {} : { lambda }) });
    assert.equal(runner.threads, 2);
    try {
      const counts: number[] = [];
      for (let step = 0; step < 3; step++) {
        // 7 samples in 3 micro-batches (3, 2, 2): parts 0 and 2 on this thread, part 1 on the other
        const batch = randomBatch(step, 7, arch.inputSize, lambda !== undefined);
        const a = trainStep(single, adamSingle, batch, 100 + step, lambda, 3);
        const b = await runner.step(adamParallel, batch, 100 + step);
        disposeBatch(batch);
        assert.deepEqual(b, a);
        assert.ok(Number.isFinite(a.loss));
        counts.push(tf.memory().numTensors);
      }
      assert.equal(new Set(counts).size, 1, `tensor counts ${counts}`);
      assert.deepEqual(stateBytes(parallel), stateBytes(single));
    } finally {
      await runner.close();
      single.dispose();
      parallel.dispose();
    }
  });
}

test('micro-batches: BatchNorm running statistics become the average of the parts\' updates from the same start', () => {
  const model = createModel(spec('spa', 48), 2);
  const reference = cloneModel(model);
  const batch = randomBatch(9, 6, 48, false);
  trainStep(model, adamOf(model), batch, 5, undefined, 2);
  const name = 'bns.0.running_mean';
  const start = reference.buffers.get(name)!.clone();
  const updates = [0, 3].map((from) => {
    reference.buffers.get(name)!.assign(start);
    const half = tf.slice(batch.x, [from, 0, 0, 0], [3, -1, -1, -1]);
    const out = reference.forward(half as tf.Tensor4D, { training: true });
    tf.dispose([out.logits, ...(out.heatmapLogits ? [out.heatmapLogits] : [])]);
    half.dispose();
    return Float32Array.from(reference.buffers.get(name)!.dataSync());
  });
  const got = model.buffers.get(name)!.dataSync();
  for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i]! - (updates[0]![i]! + updates[1]![i]!) / 2) < 1e-6, `channel ${i}`);
  assert.ok(updates[0]!.some((v, i) => v !== updates[1]![i]), 'the two halves have different statistics');
  assert.equal(model.buffers.get(name.replace('running_mean', 'num_batches_tracked'))!.dataSync()[0], 1);
  tf.dispose([batch.x, batch.labels, start]);
  model.dispose();
  reference.dispose();
});

test('one micro-batch is the plain step: same parameters as the whole batch at once', () => {
  const a = createModel(spec('spa', 48), 3);
  const b = cloneModel(a);
  const batch = randomBatch(2, 4, 48, true);
  trainStep(a, adamOf(a), batch, 7, 5);
  trainStep(b, adamOf(b), batch, 7, 5, 1);
  assert.deepEqual(stateBytes(a), stateBytes(b));
  // and two micro-batches are a different (ghost BatchNorm) computation
  const c = cloneModel(b);
  trainStep(b, adamOf(b), batch, 8, 5);
  trainStep(c, adamOf(c), batch, 8, 5, 2);
  assert.notDeepEqual(stateBytes(b), stateBytes(c));
  disposeBatch(batch);
  for (const m of [a, b, c]) m.dispose();
});
