import { readFileSync } from 'node:fs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type * as tf from '@tensorflow/tfjs-core';

/** The SIMD kernels of assembly/simd.ts (built to simd.wasm next to this file); arguments are heap byte addresses. */
export interface SimdKernels {
  channelSums(x: number, rows: number, channels: number, sums: number, squares: number): void;
  gradientSums(dy: number, x: number, mean: number, rows: number, channels: number, sumDy: number, sumDyCentred: number): void;
  scaleShift(u: number, out: number, rows: number, channels: number, a: number, k: number): void;
  scaleShift2(u: number, w: number, out: number, rows: number, channels: number, a: number, b: number, k: number): void;
  maxPoolGrad(
    dy: number, x: number, dx: number, batch: number, height: number, width: number, channels: number, outHeight: number, outWidth: number,
    kernelHeight: number, kernelWidth: number, strideHeight: number, strideWidth: number, top: number, left: number,
  ): void;
  reluGrad(dy: number, x: number, dx: number, n: number): void;
  transpose2d(x: number, out: number, rows: number, cols: number): void;
  adamUpdate(
    value: number, grad: number, m: number, v: number, outValue: number, outM: number, outV: number, n: number,
    beta1: number, beta2: number, weightDecay: number, stepSize: number, sqrtBias2: number, eps: number,
  ): void;
}

/** The slice of the WebAssembly JS API used here (@types/node 20 does not declare it). */
interface WebAssemblyApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const { Module, Instance } = (globalThis as unknown as { WebAssembly: WebAssemblyApi }).WebAssembly;

let compiled: object | null = null;
const instances = new WeakMap<object, SimdKernels>();

function readWasm(): Uint8Array {
  const url = new URL('./simd.wasm', import.meta.url);
  try {
    return readFileSync(url);
  } catch {
    throw new Error(`fiveband's SIMD kernels are missing (${url.pathname}): build them with npm run build`);
  }
}

/** The kernels bound to this backend's heap (one instance per heap, created on first use). */
export function simdKernels(backend: BackendWasm): SimdKernels {
  const memory = (backend.wasm as unknown as { asm: { memory: object } }).asm.memory;
  let kernels = instances.get(memory);
  if (kernels === undefined) {
    compiled ??= new Module(readWasm());
    kernels = new Instance(compiled, { env: { memory } }).exports as unknown as SimdKernels;
    instances.set(memory, kernels);
  }
  return kernels;
}

/** The byte address of a tensor's values on the wasm heap. */
export function heapAddress(backend: BackendWasm, info: tf.TensorInfo): number {
  return backend.typedArrayFromHeap(info).byteOffset;
}
