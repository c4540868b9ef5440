/**
 * Kernel benchmark: forward conv vs the input and filter gradients on the wasm backend, patched (fiveband) vs
 * stock, at AlexNet-, VGG-, ResNet- and SPA-like shapes. Stock tfjs-backend-wasm 4.22 has no
 * Conv2DBackpropFilter at all (training fails); the cpu backend's one is far too slow to time here (over a
 * minute for one AlexNet conv1 image), so the filter gradient is reported against the forward conv.
 * Then BatchMatMul (dense layers' forward and gradients, SPA's attention product), Slice (SPA's crop and
 * channel halves) and Sum/Mean over leading axes (bias gradients, batch-norm statistics), patched vs stock.
 * Last, fiveband's own element-wise training kernels (BatchNorm, the ReLU gradient, Adam): their
 * WebAssembly SIMD versions (wasm backend) against the same kernels' TypeScript loops (cpu backend).
 *
 *   npm run bench:kernels [-- --batch 16 --reps 3]
 */
import * as tf from '@tensorflow/tfjs-core';
import { BATCH_NORM_GRAD, RELU_GRAD, adamUpdateOp, backendInfo, batchNormTrainingOp, initBackend, setWasmKernelPatches } from '../src/compute/index.js';
import { Rng } from '../src/rng/index.js';

type Shape4 = [number, number, number, number];
interface ConvShape {
  name: string;
  /** Input [h, w, c] (batch added). */
  input: [number, number, number];
  filter: Shape4;
  stride: number;
  pad: 'same' | 'valid' | number;
}

const SHAPES: ConvShape[] = [
  { name: 'AlexNet conv1 224 (11x11 s4 p2, 3→64)', input: [224, 224, 3], filter: [11, 11, 3, 64], stride: 4, pad: 2 },
  { name: 'AlexNet conv2 27 (5x5 s1 p2, 64→192)', input: [27, 27, 64], filter: [5, 5, 64, 192], stride: 1, pad: 2 },
  { name: 'VGG 3x3 56 (s1 p1, 64→64)', input: [56, 56, 64], filter: [3, 3, 64, 64], stride: 1, pad: 1 },
  { name: 'ResNet 3x3 s2 56 (p1, 64→128)', input: [56, 56, 64], filter: [3, 3, 64, 128], stride: 2, pad: 1 },
  { name: 'SPA stage 0 256 (7x7 s2, 3→7)', input: [256, 256, 3], filter: [7, 7, 3, 7], stride: 2, pad: 'valid' },
  { name: 'SPA stage 3 30 (3x3 s2, 17→96)', input: [30, 30, 17], filter: [3, 3, 17, 96], stride: 2, pad: 'valid' },
  // conv2dTranspose of the mab head = Conv2DBackpropInput with the head's input as dy (256 input: 14→33, 67→135→271).
  { name: 'SPA head ConvT k7 14→33 (48→17)', input: [33, 33, 17], filter: [7, 7, 17, 48], stride: 2, pad: 'valid' },
  { name: 'SPA head ConvT k3 135→271 (7→3)', input: [271, 271, 3], filter: [3, 3, 3, 7], stride: 2, pad: 'valid' },
];

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

function randomTensor(rng: Rng, shape: number[]): tf.Tensor {
  const values = new Float32Array(tf.util.sizeFromShape(shape));
  for (let i = 0; i < values.length; i++) values[i] = rng.normal(0, 1);
  return tf.tensor(values, shape);
}

/**
 * Median wall time in ms of `run` over `reps` calls, after one warm-up call when `warmUp`. The first output is
 * read back when `readBack` (the conv and matmul tables, as before); the element-wise table compares two
 * synchronous backends and reads nothing (on wasm that would add a copy the cpu backend does not make).
 */
function time(label: string, run: () => tf.Tensor | tf.Tensor[], reps: number, warmUp = true, readBack = true): number {
  const call = (): void => {
    const outputs = [run()].flat();
    if (readBack) outputs[0]!.dataSync();
    tf.dispose(outputs);
  };
  if (warmUp) call();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const start = performance.now();
    call();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  process.stderr.write(`  ${label}: ${median.toFixed(1)} ms\n`);
  return median;
}

interface MatMulShape {
  name: string;
  a: number[];
  b: number[];
  transposeA: boolean;
  transposeB: boolean;
}

/** Dense layers at batch 16, width 0.25 (x·W forward, dW = xᵀ·dy, dx = dy·Wᵀ), and SPA's product attention. */
const MATMUL_SHAPES: MatMulShape[] = [
  { name: 'AlexNet fc1 224 forward x·W [16×2304]·[2304×1024]', a: [16, 2304], b: [2304, 1024], transposeA: false, transposeB: false },
  { name: 'AlexNet fc1 224 dW = xᵀ·dy [2304×16]·[16×1024]', a: [16, 2304], b: [16, 1024], transposeA: true, transposeB: false },
  { name: 'AlexNet fc1 224 dx = dy·Wᵀ [16×1024]·[1024×2304]', a: [16, 1024], b: [2304, 1024], transposeA: false, transposeB: true },
  { name: 'AlexNet fc2 dW = xᵀ·dy [1024×16]·[16×1024]', a: [16, 1024], b: [16, 1024], transposeA: true, transposeB: false },
  { name: 'VGG16 fc1 224 dW = xᵀ·dy [6272×16]·[16×1024]', a: [16, 6272], b: [16, 1024], transposeA: true, transposeB: false },
  { name: 'VGG16 fc1 224 dx = dy·Wᵀ [16×1024]·[1024×6272]', a: [16, 1024], b: [6272, 1024], transposeA: false, transposeB: true },
  { name: 'SPA 256 attention Aᵀ·B, batch 16 [48×196]·[196×48]', a: [16, 196, 48], b: [16, 196, 48], transposeA: true, transposeB: false },
  { name: 'batch 16, both transposed [64×256]·[256×128]', a: [16, 256, 64], b: [16, 128, 256], transposeA: true, transposeB: true },
];

interface SliceShape {
  name: string;
  x: number[];
  begin: number[];
  size: number[];
}

const SLICE_SHAPES: SliceShape[] = [
  { name: 'SPA 256 heatmap crop [16,271,271,3] → 256²', x: [16, 271, 271, 3], begin: [0, 0, 0, 0], size: [16, 256, 256, 3] },
  { name: 'SPA 256 channel half [16,14,14,96] → 48', x: [16, 14, 14, 96], begin: [0, 0, 0, 48], size: [16, 14, 14, 48] },
  { name: 'channel half, thin [16,125,125,14] → 7', x: [16, 125, 125, 14], begin: [0, 0, 0, 7], size: [16, 125, 125, 7] },
];

/** Reductions over the leading axes: conv bias gradients (Sum) and batch-norm statistics (Mean). */
const REDUCE_SHAPES: Array<{ name: string; x: number[]; mean: boolean }> = [
  { name: 'Sum: VGG16 224 conv1 bias gradient [16,224,224,16] → 16', x: [16, 224, 224, 16], mean: false },
  { name: 'Sum: AlexNet 224 conv2 bias gradient [16,27,27,48] → 48', x: [16, 27, 27, 48], mean: false },
  { name: 'Mean: ResNet 224 stem batch-norm [16,112,112,16] → 16', x: [16, 112, 112, 16], mean: true },
];

/** Times `run` patched, then stock, and prints a table row with the speedup. */
function patchedVsStock(name: string, run: () => tf.Tensor, reps: number): void {
  process.stderr.write(`${name}\n`);
  const patchedMs = time('patched', run, reps);
  setWasmKernelPatches(false);
  const stockMs = time('stock', run, reps);
  setWasmKernelPatches(true);
  const f = (v: number) => v.toFixed(v < 10 ? 1 : 0);
  console.log(`| ${name} | ${f(stockMs)} | ${f(patchedMs)} | ${(stockMs / patchedMs).toFixed(1)}× |`);
}

/** ResNet34-like activations: layer 1's maps at 224, batch 16. */
const MAP: Shape4 = [16, 56, 56, 16];
/** ResNet34's parameter count at width 0.25. */
const RESNET34_PARAMS = 1_336_538;

interface ElementwiseKernel {
  name: string;
  elements: number;
  /** Creates the inputs on the current backend; returns the call to time. */
  setUp: (rng: Rng) => () => tf.Tensor | tf.Tensor[];
}

const ELEMENTWISE: ElementwiseKernel[] = [
  {
    name: `BatchNorm training forward ${MAP.join('×')}`, elements: tf.util.sizeFromShape(MAP),
    setUp: (rng) => {
      const [x, g, b] = [randomTensor(rng, MAP), randomTensor(rng, [16]), randomTensor(rng, [16])];
      return () => Object.values(batchNormTrainingOp(x!, g!, b!, 1e-5));
    },
  },
  {
    name: `BatchNorm gradient ${MAP.join('×')}`, elements: tf.util.sizeFromShape(MAP),
    setUp: (rng) => {
      const [dy, x, mean, variance, scale] = [MAP, MAP, [16], [16], [16]].map((shape) => randomTensor(rng, shape));
      const inputs = { dy, x, mean, variance: tf.abs(variance!), scale };
      const attrs = { varianceEpsilon: 1e-5, batchStatistics: true };
      return () => tf.engine().runKernel(BATCH_NORM_GRAD, inputs as never, attrs as never) as tf.Tensor[];
    },
  },
  {
    name: `ReLU gradient ${MAP.join('×')}`, elements: tf.util.sizeFromShape(MAP),
    setUp: (rng) => {
      const [x, dy] = [randomTensor(rng, MAP), randomTensor(rng, MAP)];
      return () => tf.engine().runKernel(RELU_GRAD, { dy, x } as never) as tf.Tensor;
    },
  },
  {
    name: `Adam update, ${RESNET34_PARAMS.toLocaleString('en')} parameters (ResNet34, width 0.25)`, elements: RESNET34_PARAMS,
    setUp: (rng) => {
      const [p, g, m, v] = [0, 1, 2, 3].map(() => randomTensor(rng, [RESNET34_PARAMS]));
      const secondMoment = tf.abs(v!);
      const c = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-5, stepSize: 1e-3, sqrtBias2: 0.1 };
      return () => adamUpdateOp(p!, g!, m!, secondMoment, c);
    },
  },
];

async function main(): Promise<void> {
  const batch = option('batch', 16);
  const reps = option('reps', 3);
  await initBackend('wasm');
  const info = await backendInfo();
  console.log(`wasm backend: SIMD ${info.simd}, threads ${info.threads}; batch ${batch}; ms, median of ${reps} after a warm-up (stock: one call)`);
  console.log('| shape | forward conv | input grad patched | input grad stock | speedup | filter grad patched | filter grad / forward |');
  console.log('|---|---|---|---|---|---|---|');
  const rng = Rng.derive(1, 'bench-kernels');
  for (const s of SHAPES) {
    const xShape: Shape4 = [batch, ...s.input];
    const info4 = tf.backend_util.computeConv2DInfo(xShape, s.filter, s.stride, 1, s.pad);
    const x = randomTensor(rng, xShape);
    const w = randomTensor(rng, s.filter);
    const dy = randomTensor(rng, info4.outShape);
    const attrs = { strides: s.stride, pad: s.pad, dataFormat: 'NHWC' };
    const forward = () => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, s.stride, s.pad);
    const input = () => tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter: w }, { ...attrs, inputShape: xShape } as never) as tf.Tensor;
    const filter = () => tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: s.filter } as never) as tf.Tensor;

    process.stderr.write(`${s.name}\n`);
    const forwardMs = time('forward', forward, reps);
    const inputMs = time('input grad', input, reps);
    const filterMs = time('filter grad', filter, reps);
    // Stock kernels are slow: one timed call, no warm-up.
    setWasmKernelPatches(false);
    const inputStockMs = time('input grad, stock wasm', input, 1, false);
    setWasmKernelPatches(true);
    const f = (v: number) => v.toFixed(v < 10 ? 1 : 0);
    console.log(`| ${s.name} | ${f(forwardMs)} | ${f(inputMs)} | ${f(inputStockMs)} | ${(inputStockMs / inputMs).toFixed(1)}× | ${f(filterMs)} | ${(filterMs / forwardMs).toFixed(2)} |`);
    tf.dispose([x, w, dy]);
  }

  console.log(`\nBatchMatMul, ms (median of ${reps} after a warm-up)`);
  console.log('| product | stock | patched | speedup |');
  console.log('|---|---|---|---|');
  for (const s of MATMUL_SHAPES) {
    const a = randomTensor(rng, s.a);
    const b = randomTensor(rng, s.b);
    patchedVsStock(s.name, () => tf.matMul(a, b, s.transposeA, s.transposeB), reps);
    tf.dispose([a, b]);
  }

  console.log(`\nSlice, ms (median of ${reps} after a warm-up)`);
  console.log('| slice | stock | patched | speedup |');
  console.log('|---|---|---|---|');
  for (const s of SLICE_SHAPES) {
    const x = randomTensor(rng, s.x);
    patchedVsStock(s.name, () => tf.slice(x, s.begin, s.size), reps);
    x.dispose();
  }

  console.log(`\nSum and Mean over the leading axes, ms (median of ${reps} after a warm-up)`);
  console.log('| reduction | stock | patched | speedup |');
  console.log('|---|---|---|---|');
  for (const s of REDUCE_SHAPES) {
    const x = randomTensor(rng, s.x);
    const axes = s.x.slice(0, -1).map((_, i) => i);
    patchedVsStock(s.name, () => (s.mean ? tf.mean(x, axes) : tf.sum(x, axes)), reps);
    x.dispose();
  }

  console.log(`\nfiveband's element-wise training kernels, ms (median of ${reps} after a warm-up) and ns per element`);
  console.log('| kernel | TypeScript (cpu backend) | WebAssembly SIMD (wasm backend) | speedup | ns/element TS → SIMD |');
  console.log('|---|---|---|---|---|');
  for (const k of ELEMENTWISE) {
    process.stderr.write(`${k.name}\n`);
    const ms: Record<string, number> = {};
    for (const backend of ['cpu', 'wasm'] as const) {
      await initBackend(backend);
      const run = k.setUp(Rng.derive(2, 'bench-kernels', k.name));
      ms[backend] = time(backend, run, reps, true, false);
    }
    const ns = (v: number) => ((v * 1e6) / k.elements).toFixed(2);
    console.log(`| ${k.name} | ${ms.cpu!.toFixed(1)} | ${ms.wasm!.toFixed(1)} | ${(ms.cpu! / ms.wasm!).toFixed(1)}× | ${ns(ms.cpu!)} → ${ns(ms.wasm!)} |`);
  }
}

await main();
