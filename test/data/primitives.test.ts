import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../src/rng/index.js';
import { drawCell, roundTo2, type RectCellDraw, type RoundCellDraw } from '../../src/data/draw.js';
import { geometryFor } from '../../src/data/geometry.js';
import { clip01, norm3, rotatePlane, shiftPlane, upsampleGrid, upsampleTaps } from '../../src/data/primitives.js';
import { composeInto } from '../../src/data/render.js';

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `index ${i}: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('§1.2 primitives against hand-computed values', () => {
  it('upsampling taps: half-pixel grid with mirror edges (k = 3 → 6)', () => {
    // u = (o + 0.5)·3/6 − 0.5 = −0.25, 0.25, 0.75, 1.25, 1.75, 2.25; index −1 → 1 and 3 → 1.
    const taps = upsampleTaps(3, 6);
    assert.deepEqual(Array.from(taps.lower), [1, 0, 0, 1, 1, 2]);
    assert.deepEqual(Array.from(taps.upper), [0, 1, 1, 2, 2, 1]);
    assertClose(taps.weight, [0.75, 0.25, 0.75, 0.25, 0.75, 0.25]);
  });

  it('NoiseField upsampling along columns and along rows', () => {
    // A row [0, 4, 8] → [0.25·4 + 0.75·0, 0.75·0 + 0.25·4, 0.25·0 + 0.75·4, 0.75·4 + 0.25·8, 0.25·4 + 0.75·8, 0.75·8 + 0.25·4].
    const expectedRow = [1, 1, 3, 5, 7, 7];
    const byColumn = upsampleGrid([0, 4, 8, 0, 4, 8, 0, 4, 8], 3, 6);
    for (let r = 0; r < 6; r++) assertClose(byColumn.subarray(r * 6, r * 6 + 6), expectedRow);
    const byRow = upsampleGrid([0, 0, 0, 4, 4, 4, 8, 8, 8], 3, 6);
    for (let r = 0; r < 6; r++) assertClose(byRow.subarray(r * 6, r * 6 + 6), new Array(6).fill(expectedRow[r]));
  });

  it('Rotate by 90°: out[r][q] = a[q][N−1−r] (counter-clockwise as displayed)', () => {
    const a = Float64Array.from({ length: 16 }, (_, i) => i);
    const out = rotatePlane(a, 4, 90);
    const expected = Array.from({ length: 16 }, (_, p) => a[(p % 4) * 4 + (3 - Math.floor(p / 4))]!);
    assertClose(out, expected, 1e-9);
  });

  it('Rotate by 45°: bilinear weights about N/2 − 0.5 and zero fill outside', () => {
    // Delta at (2, 3) in 5×5; output (1, 3) reads source (2, 2 + √2): weight 1 − (√2 − 1) = 2 − √2 on (2, 3).
    const delta = new Float64Array(25);
    delta[2 * 5 + 3] = 1;
    assert.ok(Math.abs(rotatePlane(delta, 5, 45)[1 * 5 + 3]! - (2 - Math.SQRT2)) < 1e-12);
    // Ones with a zero at (3, 3): corner (0, 0) reads source (1.5 − 1.5√2, 1.5), between the zero fill and ones.
    const ones = new Float64Array(16).fill(1);
    ones[15] = 0;
    assert.ok(Math.abs(rotatePlane(ones, 4, 45)[0]! - (2.5 - 1.5 * Math.SQRT2)) < 1e-12);
    assertClose(rotatePlane(ones, 4, 0), ones);
    // Output is clipped to the input's range [1, 1]: the faded corner becomes 1, exact fill zeros stay 0.
    const allOnes = rotatePlane(new Float64Array(16).fill(1), 4, 45);
    assert.equal(allOnes[0], 1);
    assert.equal(rotatePlane(new Float64Array(64).fill(1), 8, 45)[0], 0);
  });

  it('Shift by integer offsets: out[i][j] = a[i − rows][j − cols], zero outside', () => {
    const a = [1, 2, 3, 4, 5, 6, 7, 8, 9];
    assert.deepEqual(Array.from(shiftPlane(a, 3, 1, -1)), [0, 0, 0, 2, 3, 0, 5, 6, 0]);
  });

  it('norm3, Clip01 and numpy-style round(x, 2)', () => {
    assert.ok(Math.abs(norm3(0.3, 0.4, 1.2) - 1.3 / 3) < 1e-15);
    assert.deepEqual([clip01(-0.2), clip01(0.3), clip01(1.7)], [0, 0.3, 1]);
    assert.deepEqual([roundTo2(0.125), roundTo2(0.375), roundTo2(0.295), roundTo2(0.2949)], [0.12, 0.38, 0.3, 0.29]);
  });

  it('compositing per channel, then uint8 = round(255·v)', () => {
    const cell = Float64Array.from([0.8, 0.005, 0.5]);
    const background = [[0.3], [0.4], [0.2]].map((v) => Float64Array.from(v));
    const out = new Uint8Array(3);
    composeInto(cell, background, out, 0);
    assert.deepEqual(Array.from(out), [204, 103, 128]); // 0.8, 0.405, 0.5 → 204, 103.275, 127.5
  });
});

describe('§1.4 parameter distributions', () => {
  it('shape, colour and placement parameters stay in their ranges (N = 512, scale 1)', () => {
    const g = geometryFor(512, 10);
    for (let i = 0; i < 300; i++) {
      const cellType = i % 9;
      const cell = drawCell(Rng.derive(i), g, cellType) as RoundCellDraw | RectCellDraw;
      const inRange = (v: number, lo: number, hi: number, what: string) => assert.ok(v >= lo && v < hi, `${what} ${v}`);
      inRange(cell.t, 10, 30, 't');
      inRange(cell.sigma, 6, 12, 'sigma');
      inRange(cell.rho, 31, 64, 'rho');
      assert.equal(cell.noise[0]!.k, Math.floor(512 / cell.rho));
      assert.ok(Number.isInteger(cell.x0) && Math.abs(cell.x0) <= 168 && Number.isInteger(cell.y0) && Math.abs(cell.y0) <= 168);
      inRange(cell.theta, -60, 60, 'theta');
      cell.inner.forEach((c, k) => inRange(c, k < 2 ? 0.1 : 0.3, k < 2 ? 0.3 : 0.5, 'inner colour'));
      if (cell.family === 'rect') {
        inRange(cell.h, 100, 200, 'h');
        inRange(cell.w, 100, 200, 'w');
        assert.equal(cell.noise.length, 2);
        cell.border.forEach((c, k) => (k === cellType - 3 ? inRange(c, 0.6, 0.9, 'border') : inRange(c, 0, 0.2, 'border')));
      } else {
        inRange(cell.r, 90, 110, 'r');
        inRange(cell.vs, 0.5, 1.5, 'vs');
        assert.equal(cell.noise.length, cellType === 0 ? 1 : 3);
        cell.border.forEach((c) => inRange(c, 0.5, 0.9, 'border'));
        if (cellType === 2) inRange(cell.tp!, 5, 40, 'tp');
        if (cellType >= 6) assert.deepEqual(cell.feature, cell.border.map((c) => 0.75 * c));
        if (cellType === 1 || cellType === 2) assert.deepEqual(cell.feature, cell.border);
      }
    }
  });
});
