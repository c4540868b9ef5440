import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { readNpy, writeNpy } from '../../src/io/index.js';
import { createModel, saveModel, type ArchSpec, type Model } from '../../src/nn/index.js';
import { maxRelativeError, randomImages, spec, useCpu } from './helpers.js';

/**
 * Our models against PyTorch twins (test/nn/torch_models.py, module paths as in the reference) loading our
 * weights.safetensors: same logits, heatmaps, input gradients and training-mode BatchNorm statistics. Registered only when
 * python3 can import torch (Debian python3-torch); the save/load round trip is tested in weights.test.ts.
 */
const torchAvailable = spawnSync('python3', ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0;
const script = fileURLToPath(new URL('../../../test/nn/torch_models.py', import.meta.url));

const CASES: ArchSpec[] = [
  spec('spa', 48, 10), spec('spa', 64, 3, 0.5), spec('alexnet', 67, 10, 0.0625), spec('alexnet-depth', 64, 10, 0.0625, 3),
  spec('vgg16', 40, 10, 0.0625), spec('resnet34', 36, 7, 0.125),
];
const TOLERANCE = 1e-4;

if (!torchAvailable) {
  console.log('# note: python3 cannot import torch; the comparison with PyTorch is not registered (round trips are still tested)');
} else {
  await useCpu();
  const root = await mkdtemp(join(tmpdir(), 'fiveband-torch-'));
  after(() => rm(root, { recursive: true, force: true }));

  test('PyTorch twins loading our weights give the same logits, heatmaps, input gradients and BatchNorm statistics', async () => {
    const models: Model[] = [];
    const args: string[] = [];
    const inputs: tf.Tensor4D[] = [];
    for (const [i, s] of CASES.entries()) {
      const model = createModel(s, 20 + i);
      // Move BN running statistics off 0/1 so eval mode exercises them.
      tf.dispose(Object.values(model.forward(randomImages(3, s.inputSize, 100 + i), { training: true, dropoutSeed: 1 })));
      const dir = join(root, `case${i}`);
      await saveModel(dir, model);
      const x = randomImages(2, s.inputSize, 200 + i);
      await writeNpy(join(dir, 'input.npy'), tf.transpose(x, [0, 3, 1, 2]).dataSync() as Float32Array, [2, 3, s.inputSize, s.inputSize]);
      models.push(model);
      inputs.push(x);
      args.push(dir, join(dir, 'input.npy'), dir);
    }
    const run = spawnSync('python3', [script, ...args], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    for (const [i, s] of CASES.entries()) {
      const dir = join(root, `case${i}`), model = models[i]!, x = inputs[i]!;
      const label = `${s.arch} N=${s.inputSize} width=${s.width}`;
      const ours = model.forward(x);
      const theirs = await readNpy(join(dir, 'logits.npy'));
      assert.deepEqual(theirs.shape, [2, s.numClasses]);
      assert.ok(maxRelativeError(ours.logits.dataSync(), theirs.data as Float32Array) < TOLERANCE, `${label}: logits`);
      const inputGrad = tf.grad((t: tf.Tensor) => tf.sum(tf.slice(model.forward(t as tf.Tensor4D).logits, [0, 0], [2, 1])))(x);
      const theirGrad = await readNpy(join(dir, 'input_grad.npy'));
      const scale = Math.max(...Array.from(theirGrad.data as Float32Array, Math.abs));
      assert.ok(maxRelativeError(tf.div(tf.transpose(inputGrad, [0, 3, 1, 2]), scale).dataSync(), Array.from(theirGrad.data as Float32Array, (v) => v / scale)) < TOLERANCE, `${label}: input gradient`);
      if (s.arch === 'spa') {
        const heatmap = await readNpy(join(dir, 'heatmap.npy'));
        assert.deepEqual(heatmap.shape, [2, 3, s.inputSize, s.inputSize]);
        const nchw = tf.transpose(ours.heatmapLogits!, [0, 3, 1, 2]).dataSync();
        assert.ok(maxRelativeError(nchw, heatmap.data as Float32Array) < TOLERANCE, `${label}: heatmap`);
      }
      if (s.arch === 'spa' || s.arch === 'resnet34') {
        const train = model.forward(x, { training: true });
        const theirTrain = await readNpy(join(dir, 'train_logits.npy'));
        assert.ok(maxRelativeError(train.logits.dataSync(), theirTrain.data as Float32Array) < TOLERANCE, `${label}: training logits`);
        for (const [name, buffer] of model.buffers) {
          const stored = await readNpy(join(dir, `${name}.npy`));
          const expected = Array.from(stored.data as ArrayLike<number | bigint>, Number);
          assert.ok(maxRelativeError(buffer.dataSync(), expected) < TOLERANCE, `${label}: ${name}`);
        }
      }
      model.dispose();
    }
  });
}
