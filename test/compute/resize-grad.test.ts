import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { adjointByImpulses, assertClose, randomValues, runOn } from './compare.js';

const N = 2;
const C = 2;
const CASES: Array<[string, [number, number], [number, number]]> = [
  ['upsample non-square', [4, 5], [7, 9]],
  ['downsample', [6, 5], [4, 2]],
  ['integer factor', [3, 4], [6, 8]],
];

for (const kind of ['bilinear', 'nearest'] as const) {
  for (const [name, [h, w], [oh, ow]] of CASES) {
    for (const [alignCorners, halfPixelCenters] of [[false, false], [true, false], [false, true]] as const) {
      test(`${kind} resize gradient = adjoint of the forward (${name}, alignCorners ${alignCorners}, halfPixelCenters ${halfPixelCenters})`, async () => {
        const resize = (x: tf.Tensor4D) => (kind === 'bilinear'
          ? tf.image.resizeBilinear(x, [oh, ow], alignCorners, halfPixelCenters)
          : tf.image.resizeNearestNeighbor(x, [oh, ow], alignCorners, halfPixelCenters));
        const xv = randomValues(`resize/${name}/x`, [N, h, w, C]);
        const r = randomValues(`resize/${name}/r`, [N, oh, ow, C]);
        for (const backend of ['cpu', 'wasm'] as const) {
          const [grad, adjoint] = await runOn(backend, () => {
            const weights = tf.tensor4d(r, [N, oh, ow, C]);
            const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(resize(x as tf.Tensor4D), weights)))(tf.tensor4d(xv, [N, h, w, C]));
            return [g, adjointByImpulses(resize, [h, w, C], weights)];
          });
          assertClose(grad!, adjoint!, 1e-5, `${backend}`);
        }
      });
    }
  }
}
