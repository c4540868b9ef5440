import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import type { WasmKernelArgs } from './wasm-util.js';
import { input } from './wasm-util.js';

/**
 * Identity (tf.clone) shares the input's memory, as the cpu backend does, instead of stock wasm's copy.
 * The engine clones every tensor a gradient saves, so stock copied each saved activation of every training
 * step (1,126 copies per ResNet34 step, ~4 % of it). Tensors are immutable and the wasm backend counts
 * references (its Reshape shares memory the same way), so sharing is safe.
 */
function identity(args: WasmKernelArgs<object>): tf.TensorInfo {
  const x = input(args, 'x');
  if (x.dtype === 'string') return stockIdentity(args);
  args.backend.incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

const stock = tf.getKernel(tf.Identity, 'wasm');
if (stock === undefined) throw new Error('tfjs-backend-wasm registered no Identity kernel');
const stockIdentity = stock.kernelFunc as unknown as (args: WasmKernelArgs<object>) => tf.TensorInfo;

export const identityConfig: tf.KernelConfig = {
  kernelName: tf.Identity,
  backendName: 'wasm',
  kernelFunc: identity as unknown as tf.KernelFunc,
};
