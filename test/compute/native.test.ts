import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import * as fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { batchNormTrainingOp, backendInfo, chooseBackend, conv2dBiasOp, initBackend } from '../../src/compute/index.js';
import { assertClose, assertMatchesCpu, needsNative, randomValues, runOn } from './compare.js';

// Every native kernel against the cpu oracle on random geometry: odd sizes, batch 1, channel counts not divisible
// by 4 or 8, strides, paddings, dilations, transposes. Each case checks the forward and its gradients, so the
// backward kernels run too.

after(() => initBackend('cpu'));

const RUNS = { numRuns: 30, seed: 20261206 };
type Pad = 'same' | 'valid' | tf.backend_util.ExplicitPadding;

const padding = fc.oneof(
  fc.constant<Pad>('same'),
  fc.constant<Pad>('valid'),
  fc.tuple(fc.nat(2), fc.nat(2), fc.nat(2), fc.nat(2)).map(([t, b, l, r]): Pad => [[0, 0], [t, b], [l, r], [0, 0]]),
);

const convCase = fc.record({
  n: fc.integer({ min: 1, max: 3 }), h: fc.integer({ min: 1, max: 11 }), w: fc.integer({ min: 1, max: 11 }),
  ci: fc.integer({ min: 1, max: 7 }), co: fc.integer({ min: 1, max: 9 }),
  kh: fc.integer({ min: 1, max: 4 }), kw: fc.integer({ min: 1, max: 4 }),
  stride: fc.integer({ min: 1, max: 3 }), dilation: fc.integer({ min: 1, max: 2 }), pad: padding,
}).filter((c) => {
  if (c.dilation > 1 && c.stride > 1) return false; // tfjs allows one or the other
  const info = tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.ci], [c.kh, c.kw, c.ci, c.co], c.stride, c.dilation, c.pad);
  return info.outHeight > 0 && info.outWidth > 0;
});

test('native conv2d, its input and filter gradients = cpu on random geometry', needsNative, async () => {
  await fc.assert(fc.asyncProperty(convCase, async (c) => {
    const key = JSON.stringify(c);
    const xs = [c.n, c.h, c.w, c.ci], ws = [c.kh, c.kw, c.ci, c.co];
    const x = randomValues(`${key}/x`, xs), w = randomValues(`${key}/w`, ws);
    const out = tf.backend_util.computeConv2DInfo(xs as never, ws as never, c.stride, c.dilation, c.pad).outShape;
    const r = randomValues(`${key}/r`, out);
    await assertMatchesCpu('native', key, () => {
      const f = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad, 'NHWC', c.dilation), tf.tensor(r, out)));
      const { value, grads } = tf.valueAndGrads(f)([tf.tensor(x, xs), tf.tensor(w, ws)]);
      return [value, ...grads];
    });
  }), RUNS);
});

test('native convolution with its bias as one kernel (conv2dBiasOp) and its three gradients = cpu\'s conv then add', needsNative, async () => {
  await fc.assert(fc.asyncProperty(convCase, async (c) => {
    const key = `bias ${JSON.stringify(c)}`;
    const xs = [c.n, c.h, c.w, c.ci], ws = [c.kh, c.kw, c.ci, c.co];
    const x = randomValues(`${key}/x`, xs), w = randomValues(`${key}/w`, ws), bias = randomValues(`${key}/b`, [c.co]);
    const out = tf.backend_util.computeConv2DInfo(xs as never, ws as never, c.stride, c.dilation, c.pad).outShape;
    const r = randomValues(`${key}/r`, out);
    await assertMatchesCpu('native', key, () => {
      const f = (a: tf.Tensor, b: tf.Tensor, s: tf.Tensor) =>
        tf.sum(tf.mul(conv2dBiasOp(a as tf.Tensor4D, b as tf.Tensor4D, s, c.stride, c.pad, c.dilation), tf.tensor(r, out)));
      const { value, grads } = tf.valueAndGrads(f)([tf.tensor(x, xs), tf.tensor(w, ws), tf.tensor(bias)]);
      return [value, ...grads];
    });
  }), RUNS);
  // One kernel on native, the two ops elsewhere; the bias enters every output.
  for (const backend of ['native', 'cpu'] as const) {
    await initBackend(backend);
    const profile = await tf.profile(() => conv2dBiasOp(tf.zeros([1, 3, 3, 2]), tf.zeros([1, 1, 2, 2]), tf.tensor1d([1.5, -2]), 1, 'valid', 1));
    assert.deepEqual(profile.kernelNames.filter((k) => ['FivebandConv2DBias', 'Conv2D', 'Add'].includes(k)), backend === 'native' ? ['FivebandConv2DBias'] : ['Conv2D', 'Add']);
    assert.deepEqual([...(profile.result as tf.Tensor).dataSync()], Array.from({ length: 9 }, () => [1.5, -2]).flat(), backend);
    tf.dispose(profile.result as tf.Tensor);
  }
});

test('native transposed convolution (SPA\'s head) and its gradients = cpu', needsNative, async () => {
  for (const [h, stride, k] of [[5, 2, 3], [4, 2, 4], [3, 3, 3], [6, 1, 3]] as const) {
    const xs = [2, h, h, 5], ws = [k, k, 3, 5];
    const size = (h - 1) * stride + k;
    const x = randomValues(`t${h}/x`, xs), w = randomValues(`t${h}/w`, ws), r = randomValues(`t${h}/r`, [2, size, size, 3]);
    await assertMatchesCpu('native', `conv2dTranspose ${h}/${stride}/${k}`, () => {
      const f = (a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.mul(tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, size, size, 3], stride, 'valid'), tf.tensor(r, [2, size, size, 3])));
      const { value, grads } = tf.valueAndGrads(f)([tf.tensor(x, xs), tf.tensor(w, ws)]);
      return [value, ...grads];
    });
  }
});

const matmulCase = fc.record({
  batchA: fc.constantFrom(1, 2, 3), broadcast: fc.constantFrom('none', 'a', 'b'),
  m: fc.integer({ min: 1, max: 9 }), k: fc.integer({ min: 1, max: 9 }), n: fc.integer({ min: 1, max: 9 }),
  transposeA: fc.boolean(), transposeB: fc.boolean(),
});

test('native batched matmul (transposes, broadcast batches) and its gradients = cpu', needsNative, async () => {
  await fc.assert(fc.asyncProperty(matmulCase, async (c) => {
    const key = JSON.stringify(c);
    const [ba, bb] = c.broadcast === 'a' ? [1, c.batchA] : c.broadcast === 'b' ? [c.batchA, 1] : [c.batchA, c.batchA];
    const as = [ba, ...(c.transposeA ? [c.k, c.m] : [c.m, c.k])], bs = [bb, ...(c.transposeB ? [c.n, c.k] : [c.k, c.n])];
    const a = randomValues(`${key}/a`, as), b = randomValues(`${key}/b`, bs), r = randomValues(`${key}/r`, [c.batchA, c.m, c.n]);
    await assertMatchesCpu('native', key, () => {
      const product = (p: tf.Tensor, q: tf.Tensor) => tf.matMul(p as tf.Tensor3D, q as tf.Tensor3D, c.transposeA, c.transposeB);
      // tfjs-core's BatchMatMul gradient does not reduce broadcast batches: forward only there.
      if (c.broadcast !== 'none') return product(tf.tensor(a, as), tf.tensor(b, bs));
      const f = (p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(product(p, q), tf.tensor(r, [c.batchA, c.m, c.n])));
      const { value, grads } = tf.valueAndGrads(f)([tf.tensor(a, as), tf.tensor(b, bs)]);
      return [value, ...grads];
    });
  }), RUNS);
});

const poolCase = fc.record({
  n: fc.integer({ min: 1, max: 2 }), h: fc.integer({ min: 1, max: 9 }), w: fc.integer({ min: 1, max: 9 }), c: fc.integer({ min: 1, max: 6 }),
  size: fc.integer({ min: 1, max: 3 }), stride: fc.integer({ min: 1, max: 3 }), pad: fc.constantFrom<'same' | 'valid'>('same', 'valid'),
  max: fc.boolean(), ties: fc.boolean(),
}).filter((c) => c.pad === 'same' || (c.h >= c.size && c.w >= c.size));

test('native max and average pooling and their gradients = cpu, ties included (first maximum wins)', needsNative, async () => {
  await fc.assert(fc.asyncProperty(poolCase, async (c) => {
    const key = JSON.stringify(c);
    const xs = [c.n, c.h, c.w, c.c];
    // Ties: values from {0, 1, 2} so most windows hold several equal maxima (flat backgrounds in cell images).
    const x = randomValues(`${key}/x`, xs).map((v) => (c.ties ? Math.min(2, Math.max(0, Math.round(v))) : v));
    const pool = (t: tf.Tensor) => (c.max ? tf.maxPool : tf.avgPool)(t as tf.Tensor4D, c.size, c.stride, c.pad);
    const out = tf.backend_util.computePool2DInfo(xs as never, c.size, c.stride, 1, c.pad).outShape;
    const r = randomValues(`${key}/r`, out);
    await assertMatchesCpu('native', key, () => {
      const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => tf.sum(tf.mul(pool(t), tf.tensor(r, out))))(tf.tensor(x, xs));
      return [pool(tf.tensor(x, xs)), value, grad];
    }, 1e-5);
  }), RUNS);
});

test('native BatchNorm (batch statistics, and running ones in eval mode) and its gradients = cpu', needsNative, async () => {
  for (const shape of [[2, 5, 3, 7], [1, 1, 1, 3], [4, 6, 6, 16], [3, 300, 5]]) {
    const c = shape[shape.length - 1]!;
    const x = randomValues(`bn${shape}/x`, shape, 3, 5), g = randomValues(`bn${shape}/g`, [c]), b = randomValues(`bn${shape}/b`, [c]);
    const r = randomValues(`bn${shape}/r`, shape);
    await assertMatchesCpu('native', `batch norm ${shape}`, () => {
      const running = tf.moments(tf.tensor(x, shape), shape.slice(0, -1).map((_, i) => i));
      const f = (t: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => {
        const { y } = batchNormTrainingOp(t, gamma, beta, 1e-5);
        const fixed = tf.batchNorm(t, running.mean, running.variance, beta, gamma, 1e-3);
        return tf.sum(tf.mul(tf.add(y, tf.mul(fixed, 0.5)), tf.tensor(r, shape)));
      };
      const { value, grads } = tf.valueAndGrads(f)([tf.tensor(x, shape), tf.tensor(g, [c]), tf.tensor(b, [c])]);
      return [value, ...grads];
    });
    // Eval mode alone is computed in the cpu kernel's order: the same values bit for bit.
    const evalMode = () => tf.batchNorm(tf.tensor(x, shape), tf.tensor(b, [c]), tf.abs(tf.tensor(g, [c])), tf.tensor(b, [c]), tf.tensor(g, [c]), 1e-5);
    assert.deepEqual(await runOn('native', evalMode), await runOn('cpu', evalMode), `eval batch norm ${shape}`);
  }
});

test('native falls back to the cpu kernels for what it does not cover (NCHW, int32)', needsNative, async () => {
  await assertMatchesCpu('native', 'NCHW conv', () =>
    tf.conv2d(tf.tensor(randomValues('nchw/x', [1, 3, 6, 5]), [1, 3, 6, 5]) as tf.Tensor4D, tf.tensor(randomValues('nchw/w', [3, 3, 3, 2]), [3, 3, 3, 2]) as tf.Tensor4D, 1, 'same', 'NCHW'));
  await initBackend('native');
  const product = tf.matMul(tf.tensor2d([[1, 2], [3, 4]], undefined, 'int32'), tf.tensor2d([[5], [6]], undefined, 'int32'));
  assert.equal(product.dtype, 'int32');
  assert.deepEqual(Array.from(product.dataSync()), [17, 39]);
  product.dispose();
});

test('chooseBackend: auto picks native when built, reports its library, threads and instruction set', needsNative, async () => {
  assert.equal(await chooseBackend('auto', { threads: 1 }), 'native');
  const info = await backendInfo();
  assert.equal(info.name, 'native');
  assert.equal(info.threads, 1);
  assert.match(info.library ?? '', /^oneDNN \d+\.\d+/);
  assert.ok((info.isa ?? '').length > 0);
  await initBackend('native', { threads: 2 });
  assert.equal((await backendInfo()).threads, 2);
});

test('native results do not depend on the run: the same inputs and thread count give identical bits', needsNative, async () => {
  const xs = [3, 17, 13, 6], ws = [3, 3, 6, 10];
  const x = randomValues('det/x', xs), w = randomValues('det/w', ws);
  const run = async () => {
    await initBackend('native', { threads: 2 });
    return tf.tidy(() => {
      const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))))([tf.tensor(x, xs), tf.tensor(w, ws)]);
      return grads.map((g) => Array.from(g.dataSync()));
    });
  };
  assert.deepEqual(await run(), await run());
});

const elementwiseCase = fc.record({
  shape: fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 4 }),
  broadcastMask: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  drop: fc.nat(3),
  op: fc.constantFrom('add', 'sub', 'mul', 'div', 'maximum', 'minimum', 'squaredDifference'),
  compare: fc.constantFrom('less', 'lessEqual', 'greater', 'greaterEqual', 'equal', 'notEqual'),
  unary: fc.constantFrom('relu', 'exp', 'neg', 'square', 'abs', 'leakyRelu'),
  reduce: fc.constantFrom('sum', 'mean', 'max', 'min'),
  axisFrom: fc.nat(3), axisCount: fc.integer({ min: 1, max: 4 }), keepDims: fc.boolean(),
  permKeys: fc.array(fc.nat(9), { minLength: 4, maxLength: 4 }),
});

test('native elementwise, broadcast, comparison, reduction, slice, transpose, pad and softmax kernels = cpu on random shapes', needsNative, async () => {
  await fc.assert(fc.asyncProperty(elementwiseCase, async (c) => {
    const key = JSON.stringify(c);
    // b: the shape with some dims broadcast (1) and up to `drop` leading dims removed.
    const bShape = c.shape.map((d, i) => (c.broadcastMask[i] ? 1 : d)).slice(Math.min(c.drop, c.shape.length - 1));
    const a = randomValues(`${key}/a`, c.shape), b = randomValues(`${key}/b`, bShape).map((v) => (c.op === 'div' ? v + Math.sign(v) * 0.5 : v));
    const rank = c.shape.length;
    const first = Math.min(c.axisFrom, rank - 1);
    const axes = Array.from({ length: Math.min(c.axisCount, rank - first) }, (_, i) => first + i);
    const perm = c.shape.map((_, i) => i).sort((p, q) => c.permKeys[p]! - c.permKeys[q]!);
    const begin = c.shape.map((d) => Math.floor(d / 3)), size = c.shape.map((d, i) => d - begin[i]! - (d > 2 ? 1 : 0));
    await assertMatchesCpu('native', key, () => {
      const x = tf.tensor(a, c.shape), y = tf.tensor(b, bShape);
      const z = (tf[c.op] as (p: tf.Tensor, q: tf.Tensor) => tf.Tensor)(x, y);
      const u = c.unary === 'leakyRelu' ? tf.leakyRelu(z, 0.1) : (tf[c.unary] as (p: tf.Tensor) => tf.Tensor)(z);
      const r = (tf[c.reduce] as (p: tf.Tensor, axis: number[], keep: boolean) => tf.Tensor)(u, axes, c.keepDims);
      const compare = tf[c.compare] as (p: tf.Tensor, q: tf.Tensor) => tf.Tensor;
      // (z, u) share the values where the unary op kept them (relu, abs on positives): equal and not-equal both occur.
      return [z, (tf[c.op] as (p: tf.Tensor, q: tf.Tensor) => tf.Tensor)(y, x), u, compare(x, y), compare(u, z), r, tf.slice(u, begin, size),
        tf.transpose(u, perm), tf.pad(u, c.shape.map((_, i) => [i % 2, 1] as [number, number]), 0.25), tf.softmax(u)];
    });
  }), { numRuns: 60, seed: 20261206 });
});

test('native broadcast kernels on tensors of several parallel chunks (merged dimensions, a remainder) = cpu', needsNative, async () => {
  const shape = [2, 33, 33, 31]; // 67,518 elements: two full chunks of 2^15 and a part
  const x = randomValues('chunks/x', shape);
  for (const bShape of [shape, [], [31], [33, 1, 31], [2, 1, 1, 1]]) {
    const y = randomValues(`chunks/${bShape}`, bShape);
    await assertMatchesCpu('native', `chunks ${bShape}`, () => {
      const [a, b] = [tf.tensor(x, shape), tf.tensor(y, bShape)];
      return [tf.add(a, b), tf.sub(b, a), tf.mul(a, b), tf.squaredDifference(a, b), tf.greater(a, b), tf.equal(b, a)];
    });
  }
});

test('native row gathers and their gradient (unsorted segment sums) = cpu, repeated and unused rows included', needsNative, async () => {
  for (const [shape, axis] of [[[5, 3, 4], 0], [[2, 6, 3], 1], [[4, 7], 1]] as const) {
    const dim = shape[axis]!;
    const ids = Int32Array.from([dim - 1, 0, 2 % dim, 0, 1 % dim]);
    const x = randomValues(`gather${shape}/x`, [...shape]);
    await assertMatchesCpu('native', `gather ${shape} axis ${axis}`, () => {
      const indices = tf.tensor1d(ids, 'int32');
      const { value, grad } = tf.valueAndGrad((t: tf.Tensor) => tf.sum(tf.square(tf.gather(t, indices, axis))))(tf.tensor(x, [...shape]));
      return [tf.gather(tf.tensor(x, [...shape]), indices, axis), value, grad];
    });
  }
});

test('native unsorted segment sums over rows of several column chunks, ids repeated, unused and out of range = cpu', needsNative, async () => {
  const shape = [6, 3, 3001]; // rows of 9,003 values: three column chunks of the kernel's split, the last partial
  const x = randomValues('segments/x', shape);
  const build = () => tf.unsortedSegmentSum(tf.tensor(x, shape), tf.tensor1d([2, 0, 2, -1, 7, 2], 'int32'), 4);
  const [expected] = await runOn('cpu', build);
  const [actual] = await runOn('native', build);
  assertClose(actual!, expected!, 1e-6, 'segment sums');
  assert.ok(expected!.subarray(3 * 9003).every((v) => v === 0) && expected!.subarray(2 * 9003, 2 * 9003 + 5).some((v) => v !== 0), 'segment 3 empty, 2 summed');
});

test('native output pool: arrays read out or viewed by a live tensor are never handed to a later output', needsNative, async () => {
  await initBackend('native', { threads: 2 });
  const xv = randomValues('pool/x', [8, 64]);
  const x = tf.tensor2d(xv, [8, 64]);
  const fresh = () => tf.relu(tf.add(x, 1)); // native outputs of one size, over and over
  const expected = xv.map((v) => Math.max(0, Math.fround(v + 1)));
  const read = fresh();
  const readValues = read.dataSync();
  const parent = fresh();
  const view = tf.slice(parent, [0, 0], [2, 64]); // contiguous: the cpu backend's slice is a subarray of parent's array
  read.dispose();
  parent.dispose();
  const later = Array.from({ length: 6 }, () => tf.neg(fresh())); // would reuse both arrays if they were pooled
  assert.deepEqual(readValues, expected, 'values read before dispose are intact');
  assert.deepEqual(view.dataSync(), expected.subarray(0, 128), 'a view outlives its parent intact');
  for (const t of later) assert.deepEqual(t.dataSync(), expected.map((v) => -v));
  tf.dispose([x, view, ...later]);
});
