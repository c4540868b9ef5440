import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { readSafetensors, UserError, writeSafetensors } from '../../src/io/index.js';
import { cloneModel, createModel, describeArch, loadModel, readModelInfo, saveModel, type Model, type ParamInfo } from '../../src/nn/index.js';
import { fromTorchLayout, toTorchLayout } from '../../src/nn/weights.js';
import { randomImages, SMALL, spec, useCpu } from './helpers.js';

await useCpu();

const root = await mkdtemp(join(tmpdir(), 'fiveband-weights-'));
after(() => rm(root, { recursive: true, force: true }));
let counter = 0;
const freshDir = () => join(root, `m${counter++}`);

/** Puts the BN running statistics off their initial 0/1 so the round trip checks them too. */
function trainBatchNorm(model: Model): void {
  tf.dispose(Object.values(model.forward(randomImages(2, model.spec.inputSize, 3), { training: true, dropoutSeed: 1 })));
}

test('layout conversion agrees with index arithmetic and inverts', () => {
  const param = (layout: ParamInfo['layout'], shape: number[], flattenedFrom?: [number, number, number]): ParamInfo => ({
    name: 'p', shape, torchShape: [], layout, trainable: true, dtype: 'float32', init: { kind: 'constant', value: 0 },
    ...(flattenedFrom ? { flattenedFrom } : {}),
  });
  const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i);
  // conv: tfjs [kh, kw, in, out] = [2, 3, 4, 37] → PyTorch [out, in, kh, kw]; 37 crosses the 32-wide blocks.
  const conv = param('conv', [2, 3, 4, 37]);
  const t = toTorchLayout(conv, iota(2 * 3 * 4 * 37));
  for (let o = 0; o < 37; o++) for (let i = 0; i < 4; i++) for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) {
    assert.equal(t[((o * 4 + i) * 2 + y) * 3 + x], ((y * 3 + x) * 4 + i) * 37 + o);
  }
  assert.deepEqual(fromTorchLayout(conv, t), iota(2 * 3 * 4 * 37));
  // linear after flatten: tfjs [(h, w, c), out] = [(3, 2, 5), 33] → PyTorch [out, (c, h, w)].
  const fc = param('linear', [30, 33], [3, 2, 5]);
  const l = toTorchLayout(fc, iota(30 * 33));
  for (let o = 0; o < 33; o++) for (let c = 0; c < 5; c++) for (let h = 0; h < 3; h++) for (let w = 0; w < 2; w++) {
    assert.equal(l[o * 30 + (c * 3 + h) * 2 + w], ((h * 2 + w) * 5 + c) * 33 + o);
  }
  assert.deepEqual(fromTorchLayout(fc, l), iota(30 * 33));
  const plain = param('linear', [70, 3]);
  const p = toTorchLayout(plain, iota(210));
  for (let o = 0; o < 3; o++) for (let i = 0; i < 70; i++) assert.equal(p[o * 70 + i], i * 3 + o);
  assert.deepEqual(fromTorchLayout(plain, p), iota(210));
});

test('save → load round trip keeps every parameter, buffer and the forward pass, for every architecture', async () => {
  for (const s of SMALL) {
    const model = createModel(s, 11);
    trainBatchNorm(model);
    const dir = freshDir();
    await saveModel(dir, model, { note: 'hello' });
    assert.deepEqual((await readdir(dir)).sort(), ['arch.json', 'weights.safetensors']);
    const loaded = await loadModel(dir);
    assert.deepEqual(loaded.spec, model.spec);
    for (const [map, other] of [[model.trainable, loaded.trainable], [model.buffers, loaded.buffers]] as const) {
      assert.deepEqual([...other.keys()], [...map.keys()]);
      for (const [name, v] of map) assert.deepEqual(other.get(name)!.dataSync(), v.dataSync(), `${s.arch} ${name}`);
    }
    const x = randomImages(2, s.inputSize, 4);
    assert.deepEqual(loaded.forward(x).logits.dataSync(), model.forward(x).logits.dataSync());
    assert.deepEqual((await readModelInfo(dir)).extra, { note: 'hello' });
    model.dispose();
    loaded.dispose();
  }
});

test('cloneModel copies parameters and buffers into independent variables', () => {
  const model = createModel(spec('resnet34', 32, 10, 0.0625), 6);
  trainBatchNorm(model);
  const copy = cloneModel(model);
  const x = randomImages(1, 32, 8);
  assert.deepEqual(copy.forward(x).logits.dataSync(), model.forward(x).logits.dataSync());
  const name = 'backbone.bn1.running_mean';
  assert.deepEqual(copy.buffers.get(name)!.dataSync(), model.buffers.get(name)!.dataSync());
  copy.trainable.get('fc.bias')!.assign(tf.zeros([10]));
  assert.ok(model.trainable.get('fc.bias')!.dataSync().some((v) => v !== 0), 'the original is untouched');
  model.dispose();
  copy.dispose();
});

test('weights use PyTorch names, layouts and dtypes', async () => {
  const model = createModel(spec('alexnet', 64, 10, 0.0625), 2);
  const dir = freshDir();
  await saveModel(dir, model);
  const file = await readSafetensors(join(dir, 'weights.safetensors'));
  const conv = file.tensors['backbone.features.0.weight']!;
  assert.deepEqual(conv.shape, [4, 3, 11, 11]); // OIHW
  // OIHW [o][i][y][x] = tfjs HWIO [y][x][i][o]
  const hwio = model.trainable.get('backbone.features.0.weight')!.arraySync() as number[][][][];
  assert.equal((conv.data as Float32Array)[((3 * 3 + 1) * 11 + 5) * 11 + 7], Math.fround(hwio[5]![7]![1]![3]!));
  // fc1 sees PyTorch's (c, h, w) flatten of the 16×6×6 pooled map: column c·36 + h·6 + w = tfjs row (h·6 + w)·16 + c.
  const fc1 = file.tensors['fc1.weight']!;
  assert.deepEqual(fc1.shape, [256, 16 * 36]);
  const tfFc1 = model.trainable.get('fc1.weight')!.arraySync() as number[][];
  assert.equal((fc1.data as Float32Array)[200 * 576 + 5 * 36 + 2 * 6 + 4], Math.fround(tfFc1[(2 * 6 + 4) * 16 + 5]![200]!));
  assert.deepEqual(file.tensors['fc3.weight']!.shape, [10, 256]);
  model.dispose();
  const spa = createModel(spec('spa', 48), 2);
  trainBatchNorm(spa);
  const spaDir = freshDir();
  await saveModel(spaDir, spa);
  const spaFile = await readSafetensors(join(spaDir, 'weights.safetensors'));
  assert.deepEqual(spaFile.tensors['mab.0.weight']!.shape, [48, 17, 7, 7]); // ConvTranspose [in, out, kh, kw]
  assert.deepEqual(spaFile.tensors['fc.weight']!.shape, [10, 2304]);
  assert.equal(spaFile.tensors['bns.3.num_batches_tracked']!.dtype, 'I64');
  assert.deepEqual([...spaFile.tensors['bns.3.num_batches_tracked']!.data], [1n]);
  assert.deepEqual(Object.keys(spaFile.tensors).sort(), describeArch(spa.spec).params.map((p) => p.name).sort());
  assert.equal(JSON.parse(spaFile.metadata.arch!).arch, 'spa');
  spa.dispose();
});

test('corrupt or mismatched model folders are one-line UserErrors', async () => {
  const model = createModel(spec('spa', 48), 1);
  const dir = freshDir();
  await saveModel(dir, model);
  const weights = join(dir, 'weights.safetensors'), arch = join(dir, 'arch.json');
  const goodWeights = await readFile(weights), goodArch = await readFile(arch, 'utf8');
  const expectError = async (pattern: RegExp) => {
    await assert.rejects(loadModel(dir), (e: unknown) => e instanceof UserError && pattern.test(e.message) && !e.message.includes('\n'));
  };
  const restore = async () => { await writeFile(weights, goodWeights); await writeFile(arch, goodArch); };

  // One flipped byte in the data: caught by the checksum.
  const flipped = Buffer.from(goodWeights);
  flipped[flipped.length - 5] ^= 0xff;
  await writeFile(weights, flipped);
  await expectError(/checksum/);
  // Truncated file without a checksum to hide behind.
  const noHash = JSON.parse(goodArch);
  delete noHash.weights;
  await writeFile(arch, JSON.stringify(noHash));
  await writeFile(weights, goodWeights.subarray(0, goodWeights.length - 100));
  await expectError(/not a valid safetensors file/);
  await restore();

  // arch.json describing another architecture than the weights.
  const other = JSON.parse(goodArch);
  other.spec.numClasses = 3;
  await writeFile(arch, JSON.stringify(other));
  await expectError(/weights were saved for/);
  await restore();

  // Hand-made weights (as a PyTorch user might write them): missing key, wrong shape, extra key, NaN.
  const tensors = (await readSafetensors(weights)).tensors;
  const withoutHash = JSON.parse(goodArch);
  delete withoutHash.weights;
  await writeFile(arch, JSON.stringify(withoutHash));
  const variants: Array<[Record<string, unknown>, RegExp]> = [];
  const { ['convs.2.bias']: _dropped, ...missing } = tensors;
  variants.push([missing, /missing tensor convs\.2\.bias/]);
  variants.push([{ ...tensors, 'fc.weight': { dtype: 'F32', shape: [3, 2304], data: new Float32Array(3 * 2304) } }, /fc\.weight has shape \[3, 2304\], spa needs \[10, 2304\]/]);
  variants.push([{ ...tensors, 'extra.weight': { dtype: 'F32', shape: [1], data: new Float32Array(1) } }, /unexpected tensor extra\.weight/]);
  variants.push([{ ...tensors, 'fc.bias': { dtype: 'F32', shape: [10], data: new Float32Array(10).fill(Number.NaN) } }, /NaN/]);
  variants.push([{ ...tensors, 'fc.bias': { dtype: 'F64', shape: [10], data: new Float64Array(10) } }, /F64, expected F32/]);
  for (const [t, pattern] of variants) {
    await writeSafetensors(weights, t as Parameters<typeof writeSafetensors>[1]);
    await expectError(pattern);
  }
  // The reference's unused ImageNet head keys are tolerated (reference checkpoints converted by a user).
  await writeSafetensors(weights, { ...tensors, 'backbone.fc.weight': { dtype: 'F32', shape: [1], data: new Float32Array(1) } });
  (await loadModel(dir)).dispose();
  await restore();

  await writeFile(arch, '{"format": "fiveband-model", "version": 1, "spec": {"arch": "spa", "inputSize": 48, "numClasses": 10}}');
  await expectError(/width/);
  await writeFile(arch, '{"format": "something-else"}');
  await expectError(/not a fiveband model description/);
  await writeFile(arch, '{"format": "fiveband-model", "version": 2}');
  await expectError(/version 2 is not supported/);
  await writeFile(arch, 'not json');
  await expectError(/not valid JSON/);
  await assert.rejects(loadModel(join(root, 'does-not-exist')), (e: unknown) => e instanceof UserError && /cannot read/.test(e.message));
  await restore();
  (await loadModel(dir)).dispose();
  model.dispose();
});
