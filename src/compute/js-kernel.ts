import * as tf from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

export function isWasm(backend: tf.KernelBackend): backend is BackendWasm & tf.KernelBackend {
  return 'typedArrayFromHeap' in backend;
}

/**
 * Runs a float32 kernel written in TypeScript on either backend: `compute` reads the inputs' values and fills
 * new outputs (zero-initialised unless `writesEveryOutput`). On wasm both are views of the heap itself (no
 * copies), taken after every output is allocated (growing the heap detaches earlier views); on cpu they are the
 * backend's own arrays.
 * `compute` must not write to its inputs.
 */
export function runJsKernel(
  backend: tf.KernelBackend,
  inputs: tf.TensorInfo[],
  outputShapes: number[][],
  compute: (inputs: Float32Array[], outputs: Float32Array[]) => void,
  writesEveryOutput = false,
): tf.TensorInfo[] {
  for (const info of inputs) if (info.dtype !== 'float32') throw new Error(`float32 kernel got a ${info.dtype} input`);
  if (isWasm(backend)) {
    const outputs = outputShapes.map((shape) => backend.makeOutput(shape, 'float32'));
    const outViews = outputs.map((info) => backend.typedArrayFromHeap(info) as Float32Array);
    if (!writesEveryOutput) for (const view of outViews) view.fill(0);
    compute(inputs.map((info) => backend.typedArrayFromHeap(info) as Float32Array), outViews);
    return outputs;
  }
  const outValues = outputShapes.map((shape) => new Float32Array(tf.util.sizeFromShape(shape)));
  compute(inputs.map((info) => backend.readSync(info.dataId) as Float32Array), outValues);
  return outValues.map((values, i) => ({ dataId: backend.write(values, outputShapes[i]!, 'float32'), shape: outputShapes[i]!, dtype: 'float32' }));
}
