import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as train from '../../src/train/index.js';
import { resizeBands, resizeImages } from '../../src/data/index.js';
import { toTruthBands } from '../../src/scoring/index.js';
import { gaussianKernel, mirrorIndex } from '../../src/data/resize.js';
import { Rng } from '../../src/rng/index.js';

/**
 * An independent, slow rendering of skimage.transform.resize(order=1, anti_aliasing=True) for one channel:
 * a direct 2-D Gaussian sum (scipy weights, mirror extension) then bilinear sampling at the pixel-area
 * aligned coordinates.
 */
function slowResize(img: number[][], out: number): number[][] {
  const n = img.length;
  const mirror = (i: number) => {
    while (i < 0 || i >= n) i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
  };
  let filtered = img;
  if (out < n) {
    const sigma = (n / out - 1) / 2;
    const r = Math.floor(4 * sigma + 0.5);
    const w = (d: number) => Math.exp(-(d * d) / (2 * sigma * sigma));
    let norm = 0;
    for (let d = -r; d <= r; d++) norm += w(d);
    filtered = img.map((row, y) => row.map((_, x) => {
      let acc = 0;
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) acc += (w(dy) * w(dx) * img[mirror(y + dy)]![mirror(x + dx)]!) / (norm * norm);
      return acc;
    }));
  }
  const sample = (y: number, x: number) => filtered[mirror(y)]![mirror(x)]!;
  return Array.from({ length: out }, (_, oy) => Array.from({ length: out }, (_, ox) => {
    const y = ((oy + 0.5) * n) / out - 0.5;
    const x = ((ox + 0.5) * n) / out - 0.5;
    const y0 = Math.floor(y);
    const x0 = Math.floor(x);
    const ty = y - y0;
    const tx = x - x0;
    return (1 - ty) * ((1 - tx) * sample(y0, x0) + tx * sample(y0, x0 + 1)) + ty * ((1 - tx) * sample(y0 + 1, x0) + tx * sample(y0 + 1, x0 + 1));
  }));
}

test('resize matches a direct 2-D rendering of skimage anti-aliased bilinear resize (down and up)', () => {
  const rng = Rng.derive(3, 'resize-test');
  for (const [from, to] of [[23, 10], [16, 7], [9, 9], [5, 12], [512 / 16, 224 / 16]] as const) {
    const channels = 2;
    const src = Float32Array.from({ length: from * from * channels }, () => rng.next());
    const got = resizeImages(src, 1, from, to, channels);
    for (let c = 0; c < channels; c++) {
      const plane = Array.from({ length: from }, (_, y) => Array.from({ length: from }, (_, x) => src[(y * from + x) * channels + c]!));
      const expected = slowResize(plane, to);
      for (let y = 0; y < to; y++) for (let x = 0; x < to; x++) {
        const g = got[(y * to + x) * channels + c]!;
        assert.ok(Math.abs(g - expected[y]![x]!) < 1e-5, `${from}→${to} c${c} (${y},${x}): ${g} vs ${expected[y]![x]}`);
      }
    }
  }
});

test('resize keeps constants, copies when the size is unchanged, and handles several images', () => {
  const constant = new Float32Array(2 * 20 * 20 * 3).fill(0.25);
  assert.ok(resizeImages(constant, 2, 20, 7, 3).every((v) => Math.abs(v - 0.25) < 1e-6));
  const src = Float32Array.from({ length: 2 * 4 * 4 * 3 }, (_, i) => i / 96);
  assert.deepEqual(resizeImages(src, 2, 4, 4, 3), src);
  const two = resizeImages(src, 2, 4, 2, 3);
  const second = resizeImages(src.subarray(48), 1, 4, 2, 3);
  assert.deepEqual(two.subarray(12), second);
});

test('Gaussian weights and mirror indices follow scipy.ndimage', () => {
  const sigma = (512 / 224 - 1) / 2;
  assert.ok(Math.abs(sigma - 0.642857) < 1e-6);
  const k = gaussianKernel(sigma);
  assert.equal(k.length, 7); // radius int(4σ + 0.5) = 3
  assert.ok(Math.abs(k.reduce((s, v) => s + v, 0) - 1) < 1e-12);
  assert.deepEqual(gaussianKernel(0), [1]);
  assert.deepEqual([-3, -2, -1, 0, 3, 4, 5, 6].map((i) => mirrorIndex(i, 4)), [3, 2, 1, 0, 3, 2, 1, 0]);
});

test('band labels are resized as their heatmap values and re-banded at the ground-truth thresholds', () => {
  const size = 16;
  const bands = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) bands[y * size + x] = x < 6 ? 0 : x < 11 ? 1 : 2;
  const out = resizeBands(bands, 1, size, 8);
  assert.ok(out.every((b) => b <= 2));
  for (let y = 0; y < 8; y++) {
    assert.equal(out[y * 8], 0);
    assert.equal(out[y * 8 + 4], 1);
    assert.equal(out[y * 8 + 7], 2);
  }
  assert.deepEqual(resizeBands(bands, 1, size, size), bands);
});

test('resized bands equal the scoring stage\'s ground-truth stratification of the resized 0/0.4/0.9 map', () => {
  const size = 24;
  let state = 12345;
  const bands = Uint8Array.from({ length: 2 * size * size }, () => ((state = (state * 1103515245 + 12345) % 2 ** 31) >> 16) % 3);
  for (const out of [7, 10, 16]) {
    const values = resizeImages(Float32Array.from(bands, (b) => [0, 0.4, 0.9][b]!), 2, size, out, 1);
    assert.deepEqual(Array.from(resizeBands(bands, 2, size, out)), Array.from(toTruthBands(values)), `size ${out}`);
  }
});

test('the resize helpers live in the data stage (attribution and training both use them); train no longer exports them', () => {
  assert.equal(typeof resizeImages, 'function');
  assert.equal(typeof resizeBands, 'function');
  assert.equal('resizeImages' in train, false);
  assert.equal('resizeBands' in train, false);
});
