/**
 * scikit-image `resize(image, (out, out, C), order=1, anti_aliasing=True)` as of 0.19 (the reference's
 * version), for square NHWC float images:
 *  1. when shrinking, a Gaussian prefilter per spatial axis with sigma = (in/out − 1)/2, scipy's
 *     `gaussian_filter` (truncate 4, radius = round-half-up(4·sigma)) in 'mirror' mode (skimage 'reflect');
 *  2. scipy `zoom(order=1, grid_mode=True, mode='mirror')`: output pixel o samples the input at
 *     (o + 0.5)·in/out − 0.5, bilinear, mirrored at the borders.
 * Enlarging skips the prefilter (skimage only anti-aliases when downsampling). Arithmetic is float64.
 */
export function resizeImages(src: Float32Array, count: number, inSize: number, outSize: number, channels: number): Float32Array {
  if (src.length !== count * inSize * inSize * channels) throw new Error('resizeImages: data does not match its shape');
  const out = new Float32Array(count * outSize * outSize * channels);
  if (inSize === outSize) {
    out.set(src);
    return out;
  }
  const kernel = inSize > outSize ? gaussianKernel((inSize / outSize - 1) / 2) : [1];
  const table = mirrorTable(inSize, (kernel.length - 1) / 2);
  const taps = linearTaps(inSize, outSize);
  const plane = inSize * inSize;
  const a = new Float64Array(plane);
  const b = new Float64Array(plane);
  const rows = new Float64Array(outSize * inSize);
  for (let img = 0; img < count; img++) {
    for (let c = 0; c < channels; c++) {
      const base = img * plane * channels;
      for (let p = 0; p < plane; p++) a[p] = src[base + p * channels + c]!;
      // Separable Gaussian: along x (a → b), then along y (b → a).
      if (kernel.length > 1) {
        convolveMirror(a, b, inSize, kernel, 1, inSize, table);
        convolveMirror(b, a, inSize, kernel, inSize, 1, table);
      }
      // Bilinear: rows first (y), then columns (x).
      for (let oy = 0; oy < outSize; oy++) {
        const { i0, i1, w0, w1 } = taps[oy]!;
        for (let x = 0; x < inSize; x++) rows[oy * inSize + x] = w0 * a[i0 * inSize + x]! + w1 * a[i1 * inSize + x]!;
      }
      const outBase = img * outSize * outSize * channels;
      for (let oy = 0; oy < outSize; oy++) {
        for (let ox = 0; ox < outSize; ox++) {
          const { i0, i1, w0, w1 } = taps[ox]!;
          out[outBase + (oy * outSize + ox) * channels + c] = w0 * rows[oy * inSize + i0]! + w1 * rows[oy * inSize + i1]!;
        }
      }
    }
  }
  return out;
}

/** Band labels (0/1/2) resized like the heatmap they encode (0 / 0.4 / 0.9), then re-banded at the ground-truth thresholds. */
export function resizeBands(bands: Uint8Array, count: number, inSize: number, outSize: number): Uint8Array {
  if (inSize === outSize) return bands.slice();
  const levels = [0, 0.4, 0.9];
  const heat = new Float32Array(bands.length);
  for (let i = 0; i < bands.length; i++) heat[i] = levels[bands[i]!]!;
  const resized = resizeImages(heat, count, inSize, outSize, 1);
  // Re-banded at the ground-truth thresholds 0.3 / 0.7 with the five-band rule (v <= g -> lower band), as the
  // reference re-bands its resized ground truth (spec §3.1, §3.3).
  const out = new Uint8Array(resized.length);
  for (let i = 0; i < resized.length; i++) out[i] = resized[i]! <= 0.3 ? 0 : resized[i]! <= 0.7 ? 1 : 2;
  return out;
}

/** scipy.ndimage's 1-D Gaussian weights (truncate 4.0); [1] when sigma is 0. */
export function gaussianKernel(sigma: number): number[] {
  if (sigma <= 0) return [1];
  const radius = Math.floor(4 * sigma + 0.5);
  const w: number[] = [];
  for (let x = -radius; x <= radius; x++) w.push(Math.exp((-0.5 * x * x) / (sigma * sigma)));
  const total = w.reduce((s, v) => s + v, 0);
  return w.map((v) => v / total);
}

/** scipy 'mirror' extension: reflect about the edge samples (d c b | a b c d | c b a). */
export function mirrorIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/** For each position, the mirrored source index of each kernel tap (computed once per size). */
function mirrorTable(n: number, radius: number): Int32Array {
  const width = 2 * radius + 1;
  const table = new Int32Array(n * width);
  for (let i = 0; i < n; i++) for (let k = -radius; k <= radius; k++) table[i * width + k + radius] = mirrorIndex(i + k, n);
  return table;
}

function convolveMirror(src: Float64Array, dst: Float64Array, n: number, kernel: number[], step: number, lineStep: number, table: Int32Array): void {
  const width = kernel.length;
  for (let line = 0; line < n; line++) {
    const start = line * lineStep;
    for (let i = 0; i < n; i++) {
      let acc = 0;
      const row = i * width;
      for (let k = 0; k < width; k++) acc += kernel[k]! * src[start + table[row + k]! * step]!;
      dst[start + i * step] = acc;
    }
  }
}

function linearTaps(inSize: number, outSize: number): Array<{ i0: number; i1: number; w0: number; w1: number }> {
  const scale = inSize / outSize;
  return Array.from({ length: outSize }, (_, o) => {
    const x = (o + 0.5) * scale - 0.5;
    const f = Math.floor(x);
    const t = x - f;
    return { i0: mirrorIndex(f, inSize), i1: mirrorIndex(f + 1, inSize), w0: 1 - t, w1: t };
  });
}
