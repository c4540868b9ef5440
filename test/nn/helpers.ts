import * as tf from '@tensorflow/tfjs-core';
import { type ArchSpec } from '../../src/nn/index.js';
import { initBackend } from '../../src/compute/index.js';
import { Rng } from '../../src/rng/index.js';

/** Tests run on the cpu backend (the oracle), with gradients registered. */
export async function useCpu(): Promise<void> {
  await initBackend('cpu');
}

/** A seeded uniform [0, 1) NHWC batch. */
export function randomImages(n: number, size: number, seed = 7): tf.Tensor4D {
  const rng = Rng.derive(seed, 'test-images');
  const data = new Float32Array(n * size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = rng.next();
  return tf.tensor4d(data, [n, size, size, 3]);
}

/** Largest |a - b| relative to 1 + |b|. */
export function maxRelativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / (1 + Math.abs(b[i]!)));
  return worst;
}

export const spec = (arch: ArchSpec['arch'], inputSize: number, numClasses = 10, width = 1, depth?: number): ArchSpec => ({
  arch, inputSize, numClasses, width, ...(depth === undefined ? {} : { depth }),
});

/** Small specs of every architecture, for tests that run tensors. */
export const SMALL: readonly ArchSpec[] = [
  spec('spa', 48, 10), spec('alexnet', 64, 10, 0.0625), spec('alexnet-depth', 64, 10, 0.0625, 3),
  spec('vgg16', 32, 10, 0.0625), spec('resnet34', 32, 10, 0.0625),
];
