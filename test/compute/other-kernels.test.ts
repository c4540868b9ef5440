import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { adamUpdateOp, initBackend, setWasmKernelPatches } from '../../src/compute/index.js';
import { RELU_GRAD } from '../../src/compute/relu-grad.js';
import { adjointByImpulses, assertClose, assertWasmMatchesCpu, randomValues, runOn } from './compare.js';

type Pad = 'same' | 'valid' | number;
interface PoolCase {
  name: string;
  x: [number, number, number, number];
  size: number | [number, number];
  strides: number | [number, number];
  pad: Pad;
  /** Values rounded to halves: windows with tied maxima (the first one takes the gradient). */
  ties?: boolean;
}

const POOL_CASES: PoolCase[] = [
  { name: '3/2 valid (AlexNet)', x: [2, 9, 9, 3], size: 3, strides: 2, pad: 'valid' },
  { name: '3/2 same odd', x: [2, 7, 8, 2], size: 3, strides: 2, pad: 'same' },
  { name: '2/2 valid (VGG)', x: [3, 8, 6, 2], size: 2, strides: 2, pad: 'valid' },
  { name: '3/2 pad 1 (ResNet)', x: [2, 9, 10, 3], size: 3, strides: 2, pad: 1 },
  { name: '3/1 same', x: [1, 5, 6, 4], size: 3, strides: 1, pad: 'same' },
  { name: '2x3 s(1,2) valid', x: [2, 6, 7, 2], size: [2, 3], strides: [1, 2], pad: 'valid' },
  // Channels in multiples of 4 take the wasm SIMD kernel.
  { name: '3/2 pad 1, 8 channels', x: [2, 9, 10, 8], size: 3, strides: 2, pad: 1 },
  { name: '3/2 same odd, 12 channels, ties', x: [2, 7, 8, 12], size: 3, strides: 2, pad: 'same', ties: true },
  { name: '2/2 valid, 4 channels, ties', x: [3, 8, 6, 4], size: 2, strides: 2, pad: 'valid', ties: true },
];

/** Mostly negative inputs, one channel entirely negative: many windows have a maximum ≤ 0. */
function poolInput(c: PoolCase): Float32Array {
  const values = randomValues(`pool/${c.name}`, c.x, 1, -1.5);
  for (let i = 0; i < values.length; i += c.x[3]) values[i] = -Math.abs(values[i]!) - 0.1;
  return c.ties ? values.map((v) => Math.round(v * 2) / 2) : values;
}

function poolGrads(c: PoolCase, xv: Float32Array, kind: 'max' | 'avg'): tf.Tensor {
  const x = tf.tensor4d(xv, c.x);
  const pool = (t: tf.Tensor4D) => (kind === 'max' ? tf.maxPool(t, c.size, c.strides, c.pad) : tf.avgPool(t, c.size, c.strides, c.pad));
  const outShape = pool(x).shape;
  const dy = tf.tensor(randomValues(`pool/${c.name}/dy`, outShape), outShape);
  return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pool(t as tf.Tensor4D), dy)))(x);
}

for (const c of POOL_CASES) {
  test(`MaxPoolGrad wasm = cpu, windows with maximum ≤ 0: ${c.name}`, async () => {
    const xv = poolInput(c);
    await assertWasmMatchesCpu(c.name, () => poolGrads(c, xv, 'max'));
  });
}

for (const c of POOL_CASES) {
  test(`AvgPoolGrad = adjoint of the forward (padding excluded from the divisor), wasm and cpu: ${c.name}`, async () => {
    const xv = randomValues(`avg/${c.name}`, c.x);
    const pool = (t: tf.Tensor4D) => tf.avgPool(t, c.size, c.strides, c.pad);
    const outShape = tf.backend_util.computePool2DInfo(c.x, c.size, c.strides, 1, c.pad).outShape;
    const r = randomValues(`avg/${c.name}/r`, outShape);
    for (const backend of ['cpu', 'wasm'] as const) {
      const [grad, adjoint] = await runOn(backend, () => {
        const weights = tf.tensor(r, outShape);
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(pool(t as tf.Tensor4D), weights)))(tf.tensor4d(xv, c.x));
        return [g, adjointByImpulses(pool, [c.x[1], c.x[2], c.x[3]], weights)];
      });
      assertClose(grad!, adjoint!, 1e-5, backend);
    }
  });
}

test('stock wasm MaxPoolGrad is wrong for windows with maximum ≤ 0 (why it is patched)', async () => {
  const c = POOL_CASES[0]!;
  const xv = poolInput(c);
  const [expected] = await runOn('cpu', () => poolGrads(c, xv, 'max'));
  await initBackend('wasm');
  setWasmKernelPatches(false);
  try {
    const [stock] = await runOn('wasm', () => poolGrads(c, xv, 'max'));
    assert.throws(() => assertClose(stock!, expected!, 1e-4, 'stock'));
  } finally {
    setWasmKernelPatches(true);
  }
});

for (const [name, ids, numSegments, inner] of [
  ['rank-1 ids, rows', [0, 2, 2, 1, 0, 4], 5, [3]],
  ['ids out of range are dropped', [1, -1, 3, 7], 4, [2, 2]],
] as const) {
  test(`UnsortedSegmentSum wasm = cpu: ${name}`, async () => {
    const xShape = [ids.length, ...inner];
    const xv = randomValues(`seg/${name}`, xShape);
    await assertWasmMatchesCpu(name, () => tf.unsortedSegmentSum(tf.tensor(xv, xShape), tf.tensor1d([...ids], 'int32'), numSegments));
  });
}

test('gather gradient (UnsortedSegmentSum) wasm = cpu', async () => {
  const xv = randomValues('gather/x', [6, 4]);
  await assertWasmMatchesCpu('gather grad', () =>
    tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.gather(x, tf.tensor1d([5, 0, 5, 2], 'int32')))))(tf.tensor2d(xv, [6, 4])));
});

interface DepthwiseCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number;
  pad: Pad;
  dilations: number;
}

const DEPTHWISE_CASES: DepthwiseCase[] = [
  { name: '3x3 s1 same m1', x: [2, 7, 6, 3], filter: [3, 3, 3, 1], strides: 1, pad: 'same', dilations: 1 },
  { name: '3x3 s2 valid m2', x: [2, 9, 8, 2], filter: [3, 3, 2, 2], strides: 2, pad: 'valid', dilations: 1 },
  { name: '5x3 s2 same m3 odd', x: [1, 9, 7, 2], filter: [5, 3, 2, 3], strides: 2, pad: 'same', dilations: 1 },
  { name: '3x3 s1 pad 2', x: [2, 8, 8, 2], filter: [3, 3, 2, 2], strides: 1, pad: 2, dilations: 1 },
];

for (const c of DEPTHWISE_CASES) {
  test(`DepthwiseConv2dNativeBackpropInput/Filter wasm = cpu: ${c.name}`, async () => {
    const xv = randomValues(`dw/${c.name}/x`, c.x);
    const wv = randomValues(`dw/${c.name}/w`, c.filter);
    const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, c.dilations, c.pad, undefined, true);
    const dyv = randomValues(`dw/${c.name}/dy`, info.outShape);
    const attrs = { strides: c.strides, pad: c.pad, dilations: c.dilations };
    await assertWasmMatchesCpu(c.name, () => {
      const dy = tf.tensor(dyv, info.outShape);
      return [
        tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropInput, { dy, filter: tf.tensor(wv, c.filter) }, { ...attrs, inputShape: c.x } as never) as tf.Tensor,
        tf.engine().runKernel(tf.DepthwiseConv2dNativeBackpropFilter, { x: tf.tensor(xv, c.x), dy }, { ...attrs, filterShape: c.filter } as never) as tf.Tensor,
      ];
    });
  });
}

test('ReLU gradient is one kernel on wasm and cpu: dy where x > 0, else 0 (also at 0); odd sizes', async () => {
  for (const size of [3, 4, 37]) {
    const x = randomValues(`relu/x/${size}`, [size]).map((v, i) => (i % 5 === 0 ? 0 : v));
    const dy = randomValues(`relu/dy/${size}`, [size]);
    const expected = x.map((v, i) => (v > 0 ? dy[i]! : 0));
    for (const backend of ['wasm', 'cpu'] as const) {
      const [dx] = await runOn(backend, () => {
        const weights = tf.tensor1d(dy);
        return tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.relu(t), weights)))(tf.tensor1d(x));
      });
      assert.deepEqual(dx, expected, `${backend}, ${size}`);
      await initBackend(backend);
      const profile = await tf.profile(() => tf.grad((t: tf.Tensor) => tf.sum(tf.relu(t)))(tf.tensor1d(x)));
      assert.ok(profile.kernelNames.includes(RELU_GRAD) && !profile.kernelNames.includes('Step'), profile.kernelNames.join(', '));
    }
  }
});

test('Adam update kernel: wasm (SIMD, float32) = cpu = the formula in float64, odd sizes', async () => {
  const c = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-2, stepSize: 0.1 / (1 - 0.9 ** 3), sqrtBias2: Math.sqrt(1 - 0.999 ** 3) };
  for (const size of [3, 4, 37]) {
    const [p, g, m] = ['p', 'g', 'm'].map((n) => randomValues(`adam/${n}/${size}`, [size])) as [Float32Array, Float32Array, Float32Array];
    const v = randomValues(`adam/v/${size}`, [size]).map(Math.abs);
    const expected = [new Float32Array(size), new Float32Array(size), new Float32Array(size)] as const;
    for (let i = 0; i < size; i++) {
      const gi = g[i]! + c.weightDecay * p[i]!;
      const m1 = c.beta1 * m[i]! + (1 - c.beta1) * gi;
      const v1 = c.beta2 * v[i]! + (1 - c.beta2) * gi * gi;
      [expected[0][i], expected[1][i], expected[2][i]] = [p[i]! - (c.stepSize * m1) / (Math.sqrt(v1) / c.sqrtBias2 + c.eps), m1, v1];
    }
    for (const backend of ['wasm', 'cpu'] as const) {
      const got = await runOn(backend, () => adamUpdateOp(tf.tensor1d(p), tf.tensor1d(g), tf.tensor1d(m), tf.tensor1d(v), c));
      ['value', 'm', 'v'].forEach((name, k) => assertClose(got[k]!, expected[k]!, 1e-6, `${backend} ${name} (${size})`));
    }
  }
});
