import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { assertWasmMatchesCpu, randomValues } from './compare.js';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;
interface ConvCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: number | [number, number];
  pad: Pad;
}

const CASES: ConvCase[] = [
  { name: '3x3 s1 same', x: [2, 7, 7, 3], filter: [3, 3, 3, 4], strides: 1, pad: 'same' },
  { name: '3x3 s1 valid odd', x: [1, 9, 6, 2], filter: [3, 3, 2, 5], strides: 1, pad: 'valid' },
  { name: '3x3 s2 same odd', x: [2, 9, 8, 3], filter: [3, 3, 3, 4], strides: 2, pad: 'same' },
  { name: '3x3 s2 valid, unread trailing rows', x: [2, 8, 10, 2], filter: [3, 3, 2, 3], strides: 2, pad: 'valid' },
  { name: '2x2 s2 same even', x: [3, 8, 8, 2], filter: [2, 2, 2, 3], strides: 2, pad: 'same' },
  { name: '4x3 s(3,2) pad 1', x: [2, 10, 11, 2], filter: [4, 3, 2, 3], strides: [3, 2], pad: 1 },
  { name: '3x3 s2 explicit asymmetric', x: [2, 9, 7, 3], filter: [3, 3, 3, 2], strides: 2, pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { name: 'alexnet conv1 11x11 s4 p2', x: [2, 31, 31, 3], filter: [11, 11, 3, 4], strides: 4, pad: 2 },
  { name: '7x7 s2 valid (SPA stage 0)', x: [2, 21, 21, 3], filter: [7, 7, 3, 7], strides: 2, pad: 'valid' },
  { name: '1x1 s1', x: [2, 5, 5, 4], filter: [1, 1, 4, 3], strides: 1, pad: 'valid' },
  { name: '1x1 s2 (ResNet downsample; phases without taps)', x: [2, 7, 8, 3], filter: [1, 1, 3, 4], strides: 2, pad: 'valid' },
  { name: '3x3 s3 same', x: [1, 10, 8, 2], filter: [3, 3, 2, 3], strides: 3, pad: 'same' },
  { name: '5x5 s2 pad 3 (padding wider than half the filter)', x: [2, 7, 9, 2], filter: [5, 5, 2, 3], strides: 2, pad: 3 },
  // Batches and channels in multiples of 4, like the models' layers.
  { name: '3x3 s1 same, batch 4, 8 channels', x: [4, 6, 5, 8], filter: [3, 3, 8, 4], strides: 1, pad: 'same' },
  { name: '3x3 s2 valid, unread trailing rows, batch 8, 4 channels', x: [8, 8, 10, 4], filter: [3, 3, 4, 4], strides: 2, pad: 'valid' },
];

function conv2DBackpropFilter(x: tf.Tensor, dy: tf.Tensor, c: ConvCase, dilations?: number): tf.Tensor {
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter, ...(dilations ? { dilations } : {}) };
  return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs as never) as tf.Tensor;
}

function conv2DBackpropInput(dy: tf.Tensor, filter: tf.Tensor, c: ConvCase, dilations?: number): tf.Tensor {
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x, ...(dilations ? { dilations } : {}) };
  return tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, attrs as never) as tf.Tensor;
}

function outShape(c: ConvCase, dilations = 1): number[] {
  return tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, dilations, c.pad).outShape;
}

for (const c of CASES) {
  test(`Conv2DBackpropFilter wasm = cpu: ${c.name}`, async () => {
    const xv = randomValues(`${c.name}/x`, c.x);
    const dyShape = outShape(c);
    const dyv = randomValues(`${c.name}/dy`, dyShape);
    await assertWasmMatchesCpu(c.name, () => conv2DBackpropFilter(tf.tensor(xv, c.x), tf.tensor(dyv, dyShape), c));
  });

  test(`Conv2DBackpropInput wasm = cpu: ${c.name}`, async () => {
    const wv = randomValues(`${c.name}/w`, c.filter);
    const dyShape = outShape(c);
    const dyv = randomValues(`${c.name}/dy`, dyShape);
    await assertWasmMatchesCpu(c.name, () => conv2DBackpropInput(tf.tensor(dyv, dyShape), tf.tensor(wv, c.filter), c));
  });
}

/** A dilated filter as a dense one with zeros between taps, built independently of the gradient patch. */
function spreadFilterValues(w: Float32Array, shape: [number, number, number, number], d: number): { values: Float32Array; shape: [number, number, number, number] } {
  const [kh, kw, ci, co] = shape;
  const sh = (kh - 1) * d + 1;
  const sw = (kw - 1) * d + 1;
  const values = new Float32Array(sh * sw * ci * co);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      for (let k = 0; k < ci * co; k++) values[((a * d) * sw + b * d) * ci * co + k] = w[(a * kw + b) * ci * co + k]!;
    }
  }
  return { values, shape: [sh, sw, ci, co] };
}

test('wasm conv backprop kernels honour a dilations attribute (cpu oracle: zero-spread filter)', async () => {
  const c: ConvCase = { name: 'dilated 3x3 d2 pad 2', x: [2, 9, 8, 3], filter: [3, 3, 3, 2], strides: 1, pad: 2 };
  const wv = randomValues('dil/w', c.filter);
  const xv = randomValues('dil/x', c.x);
  const dyShape = outShape(c, 2);
  const dyv = randomValues('dil/dy', dyShape);
  const spread = spreadFilterValues(wv, c.filter, 2);
  const spreadCase = { ...c, filter: spread.shape };
  const { runOn, assertClose } = await import('./compare.js');
  const [cpuDx, cpuDwFull] = await runOn('cpu', () => [
    conv2DBackpropInput(tf.tensor(dyv, dyShape), tf.tensor(spread.values, spread.shape), spreadCase),
    conv2DBackpropFilter(tf.tensor(xv, c.x), tf.tensor(dyv, dyShape), spreadCase),
  ]);
  const [wasmDx, wasmDw] = await runOn('wasm', () => [
    conv2DBackpropInput(tf.tensor(dyv, dyShape), tf.tensor(wv, c.filter), c, 2),
    conv2DBackpropFilter(tf.tensor(xv, c.x), tf.tensor(dyv, dyShape), c, 2),
  ]);
  assertClose(wasmDx!, cpuDx!, 1e-4, 'dx');
  const [kh, kw, ci, co] = c.filter;
  const cpuDw = new Float32Array(wv.length);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      for (let k = 0; k < ci * co; k++) cpuDw[(a * kw + b) * ci * co + k] = cpuDwFull![((a * 2) * spread.shape[1] + b * 2) * ci * co + k]!;
    }
  }
  assertClose(wasmDw!, cpuDw, 1e-4, 'dW');
});

test('conv2dTranspose (Conv2DBackpropInput forward) wasm = cpu at the SPA head shapes', async () => {
  // ConvT(48→17, k7, s2) and (17→7, k3, s2), padding 0: output (in − 1)·2 + k.
  for (const [inSize, k, cin, cout] of [[4, 7, 12, 5], [9, 3, 5, 7], [6, 3, 7, 3]] as const) {
    const outSize = (inSize - 1) * 2 + k;
    const xv = randomValues(`spa/${k}/${cin}/x`, [2, inSize, inSize, cin]);
    const wv = randomValues(`spa/${k}/${cin}/w`, [k, k, cout, cin]);
    await assertWasmMatchesCpu(`convT k${k} ${cin}→${cout}`, () =>
      tf.conv2dTranspose(tf.tensor4d(xv, [2, inSize, inSize, cin]), tf.tensor4d(wv, [k, k, cout, cin]), [2, outSize, outSize, cout], 2, 'valid'));
  }
});
