import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { getMethod } from '../../src/attribution/index.js';
import { windowStarts } from '../../src/attribution/occlusion.js';
import { UserError } from '../../src/io/index.js';
import { useCpu } from '../nn/helpers.js';
import { images, linearModel } from './tiny-models.js';

describe('Occlusion', () => {
  before(useCpu);

  it('on a linear model: each element gets the mean, over the patches covering it, of Σ_patch W_t·x', () => {
    const size = 7;
    const [window, stride] = [3, 2];
    const { model, w } = linearModel(size, 2);
    const x = images(1, size, 21);
    const target = 1;
    const xv = tf.tidy(() => tf.transpose(x, [0, 3, 1, 2]).dataSync()); // c, h, w
    const wt = (c: number, y: number, xx: number) => w[target * 3 * size * size + (c * size + y) * size + xx]!;
    const starts = windowStarts(size, window, stride); // 0, 2, 4
    assert.deepEqual(starts, [0, 2, 4]);
    const drop = (y0: number, x0: number) => {
      let s = 0;
      for (let c = 0; c < 3; c++) for (let y = y0; y < y0 + window; y++) for (let xx = x0; xx < x0 + window; xx++) s += wt(c, y, xx) * xv[(c * size + y) * size + xx]!;
      return s;
    };
    const expected: number[] = [];
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < size; y++) {
        for (let xx = 0; xx < size; xx++) {
          const covering = starts.flatMap((y0) => starts.map((x0) => [y0, x0] as const))
            .filter(([y0, x0]) => y >= y0 && y < y0 + window && xx >= x0 && xx < x0 + window);
          expected.push(covering.length === 0 ? 0 : covering.reduce((s, [y0, x0]) => s + drop(y0, x0), 0) / covering.length);
        }
      }
    }
    const got = getMethod('Occlusion').attribute(model, x, [target], { occlusionWindow: window, occlusionStride: stride, internalBatchSize: 4 });
    assert.deepEqual(got.shape, [1, 3, size, size]);
    got.data.forEach((v, k) => assert.ok(Math.abs(v - expected[k]!) < 1e-5, `element ${k}: ${v} vs ${expected[k]}`));
    assert.throws(() => getMethod('Occlusion').attribute(model, x, [target], { occlusionWindow: 8 }), UserError);
    model.dispose();
    x.dispose();
  });
});
