import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { readNpy, writeNpy } from '../../src/io/index.js';
import { createModel, describeArch, loadModel, saveModel, type ArchSpec, type Model } from '../../src/nn/index.js';
import { toTorchLayout } from '../../src/nn/weights.js';
import { needsTorch, torchPython } from '../python-torch.js';
import { maxRelativeError, randomImages, spec, useCpu } from './helpers.js';

/**
 * Our models against PyTorch twins (test/nn/torch_models.py, module paths as in the reference) loading our
 * weights.safetensors: same logits, heatmaps, input gradients, training-mode logits, parameter gradients and
 * BatchNorm statistics; and
 * torch-initialised twins exported as model folders load into fiveband with the same logits. Skipped (by name, with
 * the reason) when python3 cannot import torch (Debian python3-torch); the save/load round trip is tested in weights.test.ts.
 */
const script = fileURLToPath(new URL('../../../test/nn/torch_models.py', import.meta.url));

const CASES: ArchSpec[] = [
  spec('spa', 80, 10), spec('spa', 64, 3, 0.5), spec('alexnet', 67, 10, 0.0625), spec('alexnet-depth', 64, 10, 0.0625, 3),
  spec('vgg16', 40, 10, 0.0625), spec('resnet34', 36, 7, 0.125),
];
const TOLERANCE = 1e-4;

test('PyTorch twins loading our weights give the same outputs, gradients and BatchNorm statistics', needsTorch, async () => {
  await useCpu();
  const root = await mkdtemp(join(tmpdir(), 'fiveband-torch-'));
  try {
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
    const run = spawnSync(torchPython!, [script, ...args], { encoding: 'utf8' });
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
        let trainLogits: Float32Array = new Float32Array();
        const { grads } = tf.variableGrads(() => {
          const out = model.forward(x, { training: true });
          trainLogits = out.logits.dataSync() as Float32Array;
          const loss = tf.sum(tf.slice(out.logits, [0, 0], [2, 1]));
          return (out.heatmapLogits ? tf.add(loss, tf.mean(out.heatmapLogits)) : loss) as tf.Scalar;
        }, [...model.trainable.values()]);
        const theirTrain = await readNpy(join(dir, 'train_logits.npy'));
        assert.ok(maxRelativeError(trainLogits, theirTrain.data as Float32Array) < TOLERANCE, `${label}: training logits`);
        const params = describeArch(s).params.filter((p) => p.trainable);
        assert.equal(Object.keys(grads).length, params.length);
        const ourGrads = Object.values(grads).map((g, k) => toTorchLayout(params[k]!, g.dataSync() as Float32Array));
        const theirGrads = await Promise.all(params.map(async (p) => (await readNpy(join(dir, `grad.${p.name}.npy`))).data as Float32Array));
        // Relative to each tensor's largest value, floored: conv biases before a training-mode BatchNorm
        // have an exactly-zero gradient that both sides see as rounding noise.
        const largest = Math.max(...theirGrads.map((g) => Math.max(...Array.from(g, Math.abs))));
        params.forEach((p, k) => {
          const theirs = theirGrads[k]!;
          const scale = Math.max(1e-3 * largest, ...Array.from(theirs, Math.abs));
          assert.ok(maxRelativeError(ourGrads[k]!.map((v) => v / scale), theirs.map((v) => v / scale)) < TOLERANCE, `${label}: gradient of ${p.name}`);
        });
        tf.dispose(Object.values(grads));
        for (const [name, buffer] of model.buffers) {
          const stored = await readNpy(join(dir, `${name}.npy`));
          const expected = Array.from(stored.data as ArrayLike<number | bigint>, Number);
          assert.ok(maxRelativeError(buffer.dataSync(), expected) < TOLERANCE, `${label}: ${name}`);
        }
      }
      // PyTorch → fiveband: a torch-initialised twin exported by the script loads and agrees.
      const imported = await loadModel(join(dir, 'from_torch'));
      const torchLogits = await readNpy(join(dir, 'from_torch', 'logits.npy'));
      assert.ok(maxRelativeError(imported.forward(x).logits.dataSync(), torchLogits.data as Float32Array) < TOLERANCE, `${label}: weights exported by torch`);
      imported.dispose();
      model.dispose();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
