import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** What every wasm kernel function receives. */
export interface WasmKernelArgs<Attrs> {
  inputs: tf.NamedTensorInfoMap;
  backend: BackendWasm;
  attrs: Attrs;
}

/** The wasm backend's own kernel function for `kernelName` (stock kernels we build on: Conv2D, Transpose, Slice). */
export function wasmKernel(kernelName: string): (args: WasmKernelArgs<object>) => tf.TensorInfo {
  const config = tf.getKernel(kernelName, 'wasm');
  if (config === undefined) throw new Error(`wasm backend has no ${kernelName} kernel`);
  return config.kernelFunc as unknown as (args: WasmKernelArgs<object>) => tf.TensorInfo;
}

export function input(args: WasmKernelArgs<object>, name: string): tf.TensorInfo {
  const info = args.inputs[name];
  if (info === undefined) throw new Error(`missing kernel input ${name}`);
  return info;
}

/** Frees intermediate results of composed kernels (they never reach the engine's bookkeeping). */
export function disposeIntermediate(backend: BackendWasm, ...infos: tf.TensorInfo[]): void {
  for (const info of infos) backend.disposeData(info.dataId);
}

export function transposeInfo(backend: BackendWasm, x: tf.TensorInfo, perm: number[]): tf.TensorInfo {
  return wasmKernel('Transpose')({ inputs: { x }, backend, attrs: { perm } });
}

export function sliceInfo(backend: BackendWasm, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  return wasmKernel('Slice')({ inputs: { x }, backend, attrs: { begin, size } });
}

/**
 * A new zero-filled output completed by `fill` with views of the inputs' and the output's memory. The views are taken
 * after the allocation: growing the wasm heap detaches earlier views.
 */
export function makeFilled(
  backend: BackendWasm,
  shape: number[],
  dtype: tf.DataType,
  inputs: tf.TensorInfo[],
  fill: (out: tf.TypedArray, ...inputViews: tf.TypedArray[]) => void,
): tf.TensorInfo {
  const out = backend.makeOutput(shape, dtype);
  const outView = backend.typedArrayFromHeap(out);
  outView.fill(0);
  fill(outView, ...inputs.map((info) => backend.typedArrayFromHeap(info)));
  return out;
}

export function requireChannelsLast(kernelName: string, dataFormat: string | undefined): void {
  if (dataFormat !== undefined && dataFormat !== 'NHWC' && dataFormat !== 'channelsLast') {
    throw new Error(`wasm ${kernelName} supports dataFormat NHWC only, got ${dataFormat}`);
  }
}
