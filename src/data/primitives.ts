/**
 * The raster operations of spec §1.2 on single planes (row-major N×N float64). The generator's fast path
 * (render.ts) fuses them; these plain versions define the semantics and are what the tests check by hand.
 */

/** Bilinear taps from a k-cell axis onto an n-pixel axis: lower index, upper index and upper weight. */
export interface AxisTaps {
  lower: Int32Array;
  upper: Int32Array;
  weight: Float64Array;
}

const tapCache = new Map<string, AxisTaps>();

/**
 * Taps for upsampling k samples to n pixels on a pixel-area-aligned grid: output o reads input coordinate
 * u = (o + 0.5)·k/n − 0.5, with mirror edges (index −1 → 1, index k → k − 2), as scikit-image's `resize`
 * (order 1, mode 'reflect'). Cached per (k, n) since every sample reuses the same few grids.
 */
export function upsampleTaps(k: number, n: number): AxisTaps {
  const key = `${k}:${n}`;
  let taps = tapCache.get(key);
  if (taps) return taps;
  const mirror = (i: number): number => (k === 1 ? 0 : i < 0 ? -i : i > k - 1 ? 2 * (k - 1) - i : i);
  taps = { lower: new Int32Array(n), upper: new Int32Array(n), weight: new Float64Array(n) };
  for (let o = 0; o < n; o++) {
    const u = ((o + 0.5) * k) / n - 0.5;
    const i0 = Math.floor(u);
    taps.lower[o] = mirror(i0);
    taps.upper[o] = mirror(i0 + 1);
    taps.weight[o] = u - i0;
  }
  tapCache.set(key, taps);
  return taps;
}

/**
 * NoiseField's upsampling (§1.2.1): a k×k grid (row-major) to n×n, bilinear, separable (columns first, then
 * rows), clipped to the grid's [min, max] as the reference does. Writes into `out` when given; with `rows`
 * and `cols` ([first, last], inclusive) only that window of the output is computed.
 */
export function upsampleGrid(
  grid: ArrayLike<number>, k: number, n: number, out: Float64Array = new Float64Array(n * n),
  rows: [number, number] = [0, n - 1], cols: [number, number] = [0, n - 1],
): Float64Array {
  const taps = upsampleTaps(k, n);
  const [c0, c1] = cols;
  const rowsAcross = new Float64Array(k * n);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < k * k; i++) {
    lo = Math.min(lo, grid[i]!);
    hi = Math.max(hi, grid[i]!);
  }
  for (let gr = 0; gr < k; gr++) {
    for (let o = c0; o <= c1; o++) {
      const f = taps.weight[o]!;
      rowsAcross[gr * n + o] = (1 - f) * grid[gr * k + taps.lower[o]!]! + f * grid[gr * k + taps.upper[o]!]!;
    }
  }
  for (let o = rows[0]; o <= rows[1]; o++) {
    const f = taps.weight[o]!;
    const top = taps.lower[o]! * n;
    const bottom = taps.upper[o]! * n;
    const row = o * n;
    for (let q = c0; q <= c1; q++) {
      const v = (1 - f) * rowsAcross[top + q]! + f * rowsAcross[bottom + q]!;
      out[row + q] = v < lo ? lo : v > hi ? hi : v;
    }
  }
  return out;
}

/** The largest |value| of a grid: no upsampled value (clipped to the grid's range) exceeds it. */
export function maxAbs(values: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < values.length; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

/** Bilinear sample of plane `a` (n×n) at (row, col); neighbours outside the plane count as 0. */
export function bilinearZero(a: ArrayLike<number>, n: number, row: number, col: number): number {
  const r0 = Math.floor(row);
  const c0 = Math.floor(col);
  const dr = row - r0;
  const dc = col - c0;
  const at = (r: number, c: number): number => (r >= 0 && r < n && c >= 0 && c < n ? a[r * n + c]! : 0);
  const top = (1 - dc) * at(r0, c0) + dc * at(r0, c0 + 1);
  const bottom = (1 - dc) * at(r0 + 1, c0) + dc * at(r0 + 1, c0 + 1);
  return (1 - dr) * top + dr * bottom;
}

/** Where output pixel (row r, col q) of Rotate(·, θ) reads from: [source row, source col] (§1.2.2). */
export function rotationSource(n: number, thetaDeg: number, r: number, q: number): [number, number] {
  const t = (thetaDeg * Math.PI) / 180;
  const cos = Math.cos(t);
  const sin = Math.sin(t);
  const centre = n / 2 - 0.5;
  const dq = q - centre;
  const dr = r - centre;
  return [centre + sin * dq + cos * dr, centre + cos * dq - sin * dr];
}

/**
 * Rotate (§1.2.2, scikit-image `rotate` defaults): about (N/2 − 0.5, N/2 − 0.5), bilinear, zero fill, output
 * clipped to the input's value range except for pixels equal to the fill 0 (`range`: the whole multi-channel image's [min, max] when rotating one of its
 * channels). Positive angles turn the content counter-clockwise as displayed.
 */
export function rotatePlane(a: ArrayLike<number>, n: number, thetaDeg: number, range?: [number, number]): Float64Array {
  let [lo, hi] = range ?? [Infinity, -Infinity];
  for (let i = 0; !range && i < n * n; i++) {
    lo = Math.min(lo, a[i]!);
    hi = Math.max(hi, a[i]!);
  }
  const out = new Float64Array(n * n);
  for (let r = 0; r < n; r++) {
    for (let q = 0; q < n; q++) {
      const [sr, sc] = rotationSource(n, thetaDeg, r, q);
      const v = bilinearZero(a, n, sr, sc);
      // scikit-image keeps pixels equal to the fill value 0 even when 0 is outside the input's range.
      out[r * n + q] = v === 0 ? 0 : v < lo ? lo : v > hi ? hi : v;
    }
  }
  return out;
}

/** Shift by integer offsets (§1.2.3): out[i, j] = a[i − rows, j − cols], zero where the source is outside. */
export function shiftPlane(a: ArrayLike<number>, n: number, rows: number, cols: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const si = i - rows;
    if (si < 0 || si >= n) continue;
    for (let j = 0; j < n; j++) {
      const sj = j - cols;
      if (sj >= 0 && sj < n) out[i * n + j] = a[si * n + sj]!;
    }
  }
  return out;
}

/**
 * Stored pixel value of v: round(255·clip01(v)) with ties to even, as a Uint8ClampedArray store does
 * (the fast compositor writes through one).
 */
export function quantise(v: number): number {
  const x = Math.min(255, Math.max(0, v * 255));
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 === 1 ? r - 1 : r;
}

export function clip01(v: number): number {
  return v < 0 ? 0 : v > 1 ? 1 : v;
}

/** norm3 of one RGB pixel (§1.1): (1/3)·sqrt(r² + g² + b²). */
export function norm3(r: number, g: number, b: number): number {
  return (1 / 3) * Math.sqrt(r * r + g * g + b * b);
}
