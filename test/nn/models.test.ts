import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../src/io/index.js';
import { ARCHS, createModel, describeArch, plainRule, type ArchSpec, type NonlinearityKind } from '../../src/nn/index.js';
import { adaptivePoolMatrix, TensorOps } from '../../src/nn/layers.js';
import { randomImages, SMALL, spec, useCpu } from './helpers.js';

await useCpu();

test('trainable parameter counts match the reference (spec §2.1, §4.1)', () => {
  assert.equal(describeArch(spec('spa', 512, 10)).trainableCount, 82_376);
  assert.equal(describeArch(spec('spa', 256, 3)).trainableCount, 66_241);
  // torchvision's registered totals minus the never-used ImageNet heads.
  assert.equal(describeArch(spec('resnet34', 512)).trainableCount, 21_802_802 - 513_000);
  assert.equal(describeArch(spec('alexnet', 224)).trainableCount, 115_675_954 - 58_631_144);
  assert.equal(describeArch(spec('vgg16', 224)).trainableCount, 241_163_058 - 123_642_856);
  // Each extra depth block is Conv(3→3, k3) with bias: 84 parameters.
  const alex = describeArch(spec('alexnet', 224)).trainableCount;
  for (const k of [0, 1, 2, 5]) assert.equal(describeArch(spec('alexnet-depth', 224, 10, 1, k)).trainableCount, alex + 84 * k);
  assert.equal(describeArch(spec('alexnet-depth', 224)).trainableCount, alex + 84 * 2, 'default depth is the reference 2');
});

test('SPA layer shapes follow the spec table at 512, 256 and 224', () => {
  const shapes = (n: number, classes = 10) => Object.fromEntries(describeArch(spec('spa', n, classes)).layers.map((l) => [l.name, l.outputShape]));
  const s512 = shapes(512);
  assert.deepEqual([s512['act.0'], s512['act.1'], s512['act.2'], s512['act.3']], [[7, 253, 253], [7, 126, 126], [17, 62, 62], [96, 30, 30]]);
  assert.deepEqual(['mab.0', 'mab.1', 'mab.2', 'mab.3'].map((k) => s512[k]![1]), [65, 131, 263, 527]);
  assert.deepEqual(s512.softmax, [48, 48]);
  const s256 = shapes(256, 3);
  assert.deepEqual([s256['act.0'], s256['act.1'], s256['act.2'], s256['act.3']], [[7, 125, 125], [7, 62, 62], [17, 30, 30], [96, 14, 14]]);
  assert.deepEqual(['mab.0', 'mab.1', 'mab.2', 'mab.3'].map((k) => s256[k]![1]), [33, 67, 135, 271]);
  assert.deepEqual(shapes(224)['act.3'], [96, 12, 12]);
  assert.deepEqual(describeArch(spec('spa', 512)).heatmapShape, [3, 512, 512]);
});

test('AlexNet, VGG16 and ResNet34 shapes at the reference sizes', () => {
  const at = (s: ArchSpec) => Object.fromEntries(describeArch(s).layers.map((l) => [l.name, l.outputShape]));
  const alex = at(spec('alexnet', 224));
  assert.deepEqual(alex['backbone.features.0'], [64, 55, 55]);
  assert.deepEqual(alex['backbone.features.12'], [256, 6, 6]);
  assert.deepEqual(alex.fc1, [4096]);
  const vgg = at(spec('vgg16', 224));
  assert.deepEqual(vgg['backbone.features.30'], [512, 7, 7]);
  assert.deepEqual(vgg.act2, [10]);
  const res = at(spec('resnet34', 512));
  assert.deepEqual(res['backbone.maxpool'], [64, 128, 128]);
  assert.deepEqual(res['backbone.layer4.2.relu2'], [512, 16, 16]);
  assert.deepEqual(res.fc, [10, 1, 1]);
  assert.ok('backbone.layer2.0.downsample.0' in res && !('backbone.layer1.0.downsample.0' in res));
  const depth = describeArch(spec('alexnet-depth', 224, 10, 1, 3)).layerNames;
  assert.deepEqual(depth.slice(0, 6), ['block0.cv', 'block0.act', 'block1.cv', 'block1.act', 'block2.cv', 'block2.act']);
  assert.equal(describeArch(spec('alexnet-depth', 224)).firstConv, 'backbone.features.0');
  assert.equal(describeArch(spec('resnet34', 64)).firstConv, 'backbone.conv1');
  assert.equal(describeArch(spec('spa', 64)).firstConv, 'convs.0');
});

test('width multiplier scales channels and fc widths (at least 1)', () => {
  const alex = Object.fromEntries(describeArch(spec('alexnet', 224, 10, 0.5)).layers.map((l) => [l.name, l.outputShape]));
  assert.deepEqual(alex['backbone.features.0'], [32, 55, 55]);
  assert.deepEqual(alex.fc2, [2048]);
  const tiny = Object.fromEntries(describeArch(spec('spa', 64, 10, 0.01)).layers.map((l) => [l.name, l.outputShape]));
  assert.equal(tiny['convs.0']![0], 1);
  assert.deepEqual(tiny.softmax, [1, 1]);
});

test('bad specs and sizes too small for an architecture are one-line UserErrors', () => {
  assert.throws(() => describeArch(spec('vgg16', 16)), (e: unknown) => e instanceof UserError && /too small/.test(e.message));
  assert.throws(() => describeArch(spec('alexnet', 40)), UserError);
  assert.throws(() => describeArch(spec('spa', 8)), UserError);
  assert.throws(() => describeArch({ ...spec('spa', 64), width: 0 }), UserError);
  assert.throws(() => describeArch({ ...spec('spa', 64), numClasses: 1 }), UserError);
  assert.throws(() => describeArch({ ...spec('spa', 64), depth: 2 }), /alexnet-depth only/);
  assert.throws(() => describeArch({ ...spec('spa', 64), arch: 'lenet' as ArchSpec['arch'] }), UserError);
});

test('allocated models hold exactly the described parameters, seeded', () => {
  for (const s of SMALL) {
    const d = describeArch(s);
    const a = createModel(s, 1), b = createModel(s, 1), c = createModel(s, 2);
    const count = [...a.trainable.values()].reduce((n, v) => n + v.size, 0);
    assert.equal(count, d.trainableCount, s.arch);
    assert.deepEqual([...a.trainable.keys()], d.params.filter((p) => p.trainable).map((p) => p.name));
    for (const [name, v] of a.trainable) {
      assert.deepEqual(v.dataSync(), b.trainable.get(name)!.dataSync(), `${s.arch} ${name} same seed`);
    }
    const first = `${d.firstConv}.weight`;
    assert.notDeepEqual(a.trainable.get(first)!.dataSync(), c.trainable.get(first)!.dataSync());
    [a, b, c].forEach((m) => m.dispose());
  }
});

test('initialisation follows PyTorch defaults and torchvision overrides', () => {
  const m = createModel(spec('resnet34', 32, 10, 0.25), 3);
  const stats = (name: string) => {
    const v = [...m.trainable.get(name)!.dataSync()];
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    return { mean, sd, max: v.reduce((a, b) => Math.max(a, Math.abs(b)), 0), n: v.length };
  };
  // kaiming_normal(fan_out, relu): sd = sqrt(2 / (out·k·k)); layer3 conv: out 64, k 3.
  const k = stats('backbone.layer3.1.conv1.weight');
  assert.ok(Math.abs(k.sd / Math.sqrt(2 / (64 * 9)) - 1) < 0.05, `sd ${k.sd}`);
  // The reference's own 1×1 conv classifier: U(±1/sqrt(fan_in)), fan_in = 128.
  const fc = stats('fc.weight');
  assert.ok(fc.max <= 1 / Math.sqrt(128) && fc.max > 0.9 / Math.sqrt(128));
  assert.deepEqual([...m.trainable.get('backbone.bn1.weight')!.dataSync()], new Array(16).fill(1));
  assert.deepEqual([...m.buffers.get('backbone.bn1.running_var')!.dataSync()], new Array(16).fill(1));
  m.dispose();
  const spa = createModel(spec('spa', 48), 3);
  // ConvTranspose fan_in is out_channels·k·k (mab.0: 17·7·7).
  const mab = spa.trainable.get('mab.0.bias')!.dataSync();
  const bound = 1 / Math.sqrt(17 * 49);
  assert.ok(mab.every((v) => Math.abs(v) <= bound) && mab.some((v) => Math.abs(v) > 0.5 * bound));
  spa.dispose();
  const vgg = createModel(spec('vgg16', 32, 10, 0.0625), 3);
  assert.ok(vgg.trainable.get('backbone.features.0.bias')!.dataSync().every((v) => v === 0), 'torchvision VGG conv bias 0');
  const fc1 = vgg.trainable.get('fc1.bias')!.dataSync();
  assert.ok(fc1.some((v) => v !== 0) && fc1.every((v) => Math.abs(v) <= 1 / Math.sqrt(32 * 49)), 'reference fc1: default init');
  vgg.dispose();
});

test('alexnet-depth blocks start as the reference (pytorch) or kaiming; blockInit is for alexnet-depth only', () => {
  const blocks = (blockInit?: 'pytorch' | 'kaiming') => {
    const m = createModel({ ...spec('alexnet-depth', 64, 10, 0.0625, 40), ...(blockInit ? { blockInit } : {}) }, 5);
    const w: number[] = [], b: number[] = [];
    for (let i = 0; i < 40; i++) {
      w.push(...m.trainable.get(`block${i}.cv.weight`)!.dataSync());
      b.push(...m.trainable.get(`block${i}.cv.bias`)!.dataSync());
    }
    const first = [...m.trainable.get('backbone.features.0.weight')!.dataSync()];
    m.dispose();
    const sd = Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length);
    return { sd, maxW: Math.max(...w.map(Math.abs)), b, first };
  };
  const bound = 1 / Math.sqrt(27); // fan_in 3·3·3
  const pytorch = blocks(), explicit = blocks('pytorch'), kaiming = blocks('kaiming');
  assert.ok(pytorch.maxW <= bound && pytorch.maxW > 0.95 * bound && pytorch.b.some((v) => Math.abs(v) > 0.5 * bound));
  assert.deepEqual(explicit, pytorch, 'absent = pytorch');
  assert.ok(Math.abs(kaiming.sd / Math.sqrt(2 / 27) - 1) < 0.05, `kaiming sd ${kaiming.sd}`);
  assert.ok(kaiming.maxW > bound && kaiming.b.every((v) => v === 0));
  assert.deepEqual(kaiming.first, pytorch.first, 'the backbone is initialised the same either way');
  assert.throws(() => describeArch({ ...spec('alexnet', 64), blockInit: 'kaiming' }), /alexnet-depth only/);
  assert.throws(() => describeArch({ ...spec('alexnet-depth', 64), blockInit: 'he' as 'kaiming' }), UserError);
});

test('adaptive average pooling uses PyTorch bins, also when the output is larger', () => {
  // Independent check: each output cell is the plain mean over its [floor(i·in/out), ceil((i+1)·in/out)) bins.
  for (const [h, out] of [[5, 3], [6, 6], [13, 6], [2, 7], [1, 6], [16, 7], [4, 1]] as const) {
    const x = randomImages(2, h, h + out);
    const ops = new TensorOps(new Map());
    const y = ops.adaptiveAvgPool2d('pool', x, out).arraySync() as number[][][][];
    const xs = x.arraySync();
    for (let n = 0; n < 2; n++) for (let i = 0; i < out; i++) for (let j = 0; j < out; j++) for (let c = 0; c < 3; c++) {
      const [r0, r1] = [Math.floor((i * h) / out), Math.ceil(((i + 1) * h) / out)];
      const [c0, c1] = [Math.floor((j * h) / out), Math.ceil(((j + 1) * h) / out)];
      let sum = 0;
      for (let r = r0; r < r1; r++) for (let q = c0; q < c1; q++) sum += xs[n]![r]![q]![c]!;
      assert.ok(Math.abs(y[n]![i]![j]![c]! - sum / ((r1 - r0) * (c1 - c0))) < 1e-5, `${h}→${out}`);
    }
  }
  assert.deepEqual([...adaptivePoolMatrix(2, 3)], [1, 0, 0.5, 0.5, 0, 1]);
});

test('BatchNorm: batch statistics (biased) in training, running update with unbiased variance, running stats in eval', () => {
  const m = createModel(spec('spa', 48), 5);
  const x = randomImages(3, 48, 9);
  const captured: tf.Tensor[] = [];
  const taps = { 'convs.0': (a: tf.Tensor) => { captured.push(tf.keep(a)); return a; }, 'bns.0': (a: tf.Tensor) => { captured.push(tf.keep(a)); return a; } };
  const out = m.forward(x, { training: true, taps });
  const [conv, bn] = captured as [tf.Tensor4D, tf.Tensor4D];
  const c = conv.arraySync().flat(2) as number[][]; // [positions][channels]
  const gamma = m.trainable.get('bns.0.weight')!.dataSync(), beta = m.trainable.get('bns.0.bias')!.dataSync();
  const runningMean = m.buffers.get('bns.0.running_mean')!.dataSync(), runningVar = m.buffers.get('bns.0.running_var')!.dataSync();
  const bnValues = bn.arraySync().flat(2) as number[][];
  for (let ch = 0; ch < 7; ch++) {
    const v = c.map((p) => p[ch]!);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const ss = v.reduce((a, b) => a + (b - mean) ** 2, 0);
    assert.ok(Math.abs(runningMean[ch]! - 0.1 * mean) < 1e-5);
    assert.ok(Math.abs(runningVar[ch]! - (0.9 + (0.1 * ss) / (v.length - 1))) < 1e-4);
    const expected = (v[17]! - mean) / Math.sqrt(ss / v.length + 1e-5) * gamma[ch]! + beta[ch]!;
    assert.ok(Math.abs(bnValues[17]![ch]! - expected) < 1e-4);
  }
  assert.equal(m.buffers.get('bns.0.num_batches_tracked')!.dataSync()[0], 1);
  // Eval mode uses the running statistics and leaves them alone.
  captured.length = 0;
  m.forward(x, { taps });
  const evalBn = (captured[1]!.arraySync() as number[][][][]).flat(2);
  const evalConv = (captured[0]!.arraySync() as number[][][][]).flat(2);
  const expected = (evalConv[4]![2]! - runningMean[2]!) / Math.sqrt(runningVar[2]! + 1e-5) * gamma[2]! + beta[2]!;
  assert.ok(Math.abs(evalBn[4]![2]! - expected) < 1e-4);
  assert.equal(m.buffers.get('bns.0.num_batches_tracked')!.dataSync()[0], 1);
  tf.dispose([out.logits, out.heatmapLogits!, ...captured]);
  m.dispose();
});

test('dropout is deterministic from dropoutSeed, only in training mode', () => {
  const m = createModel(spec('alexnet', 64, 10, 0.0625), 1);
  const x = randomImages(2, 64);
  const run = (o: Parameters<typeof m.forward>[1]) => m.forward(x, o).logits.dataSync();
  assert.deepEqual(run({ training: true, dropoutSeed: 3 }), run({ training: true, dropoutSeed: 3 }));
  assert.notDeepEqual(run({ training: true, dropoutSeed: 3 }), run({ training: true, dropoutSeed: 4 }));
  assert.notDeepEqual(run({ training: true, dropoutSeed: 3 }), run({}));
  assert.throws(() => m.forward(x, { training: true }), /dropoutSeed/);
  // About half the units are dropped, the rest scaled by 2.
  const seen: number[] = [];
  const taps = { d2: (a: tf.Tensor) => { seen.push(...a.dataSync()); return a; }, act1: (a: tf.Tensor) => { seen.push(...a.dataSync()); return a; } };
  m.forward(x, { training: true, dropoutSeed: 9, taps });
  const half = seen.length / 2;
  let zeros = 0;
  for (let i = 0; i < half; i++) {
    const before = seen[i]!, after = seen[half + i]!;
    if (after === 0) zeros++;
    else assert.ok(Math.abs(after - 2 * before) < 1e-6);
  }
  assert.ok(zeros > 0.4 * half && zeros < 0.6 * half, `${zeros}/${half}`);
  m.dispose();
});

test('every nonlinearity goes through the rule, with its kind and layer name', () => {
  const kindOf: Record<string, NonlinearityKind> = { ReLU: 'relu', LeakyReLU: 'leaky_relu', MaxPool2d: 'max_pool', Softmax: 'softmax' };
  for (const s of SMALL) {
    const m = createModel(s, 1);
    const calls: Array<[NonlinearityKind, string]> = [];
    const rule = { name: 'recording', apply: (kind: NonlinearityKind, name: string, x: tf.Tensor, f: (t: tf.Tensor) => tf.Tensor) => { calls.push([kind, name]); return f(x); } };
    const plain = m.forward(randomImages(1, s.inputSize), { rule }).logits.dataSync();
    const expected = describeArch(s).layers.filter((l) => l.type in kindOf).map((l) => [kindOf[l.type], l.name]);
    assert.deepEqual(calls, expected, s.arch);
    assert.ok(calls.length > 0);
    // The rule's output is what the model continues with.
    const zeroing = { name: 'zero', apply: (_k: NonlinearityKind, _n: string, x: tf.Tensor, f: (t: tf.Tensor) => tf.Tensor) => tf.mul(f(x), 0) };
    assert.notDeepEqual(m.forward(randomImages(1, s.inputSize), { rule: zeroing }).logits.dataSync(), plain);
    assert.deepEqual(m.forward(randomImages(1, s.inputSize), { rule: plainRule }).logits.dataSync(), plain);
    m.dispose();
  }
});

test('every layer can be tapped; tap shapes match the layer table; a tap can replace the activation', () => {
  for (const s of SMALL) {
    const m = createModel(s, 1);
    const d = describeArch(s);
    const seen = new Map<string, number[]>();
    const taps = Object.fromEntries(m.layerNames.map((name) => [name, (a: tf.Tensor) => { seen.set(name, a.shape); return a; }]));
    const base = m.forward(randomImages(2, s.inputSize), { taps }).logits.dataSync();
    assert.deepEqual([...seen.keys()], [...m.layerNames], s.arch);
    for (const layer of d.layers) {
      const shape = seen.get(layer.name)!;
      const torchOrder = shape.length === 4 ? [shape[3], shape[1], shape[2]] : shape.slice(1);
      assert.deepEqual(torchOrder, layer.outputShape, `${s.arch} ${layer.name}`);
    }
    const replaced = m.forward(randomImages(2, s.inputSize), { taps: { [m.firstConv]: (a: tf.Tensor) => tf.zerosLike(a) } }).logits.dataSync();
    assert.notDeepEqual(replaced, base);
    assert.throws(() => m.forward(randomImages(2, s.inputSize), { taps: { nope: (a) => a } }), /no layer nope/);
    m.dispose();
  }
});

test('wrong input shape is a UserError', () => {
  const m = createModel(spec('spa', 48), 1);
  assert.throws(() => m.forward(randomImages(1, 64)), (e: unknown) => e instanceof UserError && /expects input \[batch, 48, 48, 3\]/.test(e.message));
  m.dispose();
  assert.equal(ARCHS.length, 5);
});
