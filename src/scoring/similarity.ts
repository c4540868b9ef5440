import { averageRanks } from './statistics.js';

/**
 * How alike two heatmaps are (the sanity checks of Adebayo et al. 2018): Spearman's rank correlation and SSIM.
 * Plain arrays in (one H×W map each), float64 arithmetic.
 */

function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : null;
}

/** Spearman's rank correlation (ties averaged, as scipy.stats.spearmanr); null when either map is constant. */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number | null {
  if (a.length !== b.length) throw new Error(`maps of ${a.length} and ${b.length} values`);
  return pearson(averageRanks(a), averageRanks(b));
}

/** A 1-D Gaussian kernel of σ = 1.5 truncated at 3.5σ (radius 5: an 11-tap window), normalised. */
function gaussianTaps(sigma: number, truncate: number): Float64Array {
  const radius = Math.floor(truncate * sigma + 0.5);
  const taps = new Float64Array(2 * radius + 1);
  let sum = 0;
  for (let k = -radius; k <= radius; k++) sum += taps[k + radius] = Math.exp(-(k * k) / (2 * sigma * sigma));
  return taps.map((t) => t / sum);
}

/** Separable Gaussian filter with mirrored edges ("reflect": d c b a | a b c d), as scipy.ndimage's default. */
function gaussianFilter(image: Float64Array, height: number, width: number, taps: Float64Array): Float64Array {
  const radius = (taps.length - 1) / 2;
  const reflect = (i: number, n: number) => {
    for (;;) {
      if (i < 0) i = -i - 1;
      else if (i >= n) i = 2 * n - i - 1;
      else return i;
    }
  };
  const rows = new Float64Array(image.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let k = -radius; k <= radius; k++) s += taps[k + radius]! * image[y * width + reflect(x + k, width)]!;
      rows[y * width + x] = s;
    }
  }
  const out = new Float64Array(image.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let k = -radius; k <= radius; k++) s += taps[k + radius]! * rows[reflect(y + k, height) * width + x]!;
      out[y * width + x] = s;
    }
  }
  return out;
}

/**
 * Mean structural similarity (Wang et al. 2004) of two H×W maps with values in [0, `dataRange`], as
 * skimage.metrics.structural_similarity(a, b, data_range, gaussian_weights=True, sigma=1.5,
 * use_sample_covariance=False) computes it: Gaussian-weighted local means, variances and covariance,
 * C1 = (0.01·L)², C2 = (0.03·L)², averaged over the pixels at least 5 away from the border.
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, height: number, width: number, dataRange = 1): number {
  const n = height * width;
  if (a.length !== n || b.length !== n) throw new Error(`maps must be ${height}×${width}`);
  const taps = gaussianTaps(1.5, 3.5);
  const fa = Float64Array.from(a);
  const fb = Float64Array.from(b);
  const product = (x: Float64Array, y: Float64Array) => x.map((v, i) => v * y[i]!);
  const ux = gaussianFilter(fa, height, width, taps);
  const uy = gaussianFilter(fb, height, width, taps);
  const uxx = gaussianFilter(product(fa, fa), height, width, taps);
  const uyy = gaussianFilter(product(fb, fb), height, width, taps);
  const uxy = gaussianFilter(product(fa, fb), height, width, taps);
  const c1 = (0.01 * dataRange) ** 2;
  const c2 = (0.03 * dataRange) ** 2;
  const pad = (taps.length - 1) / 2;
  let sum = 0;
  let count = 0;
  for (let y = pad; y < height - pad; y++) {
    for (let x = pad; x < width - pad; x++) {
      const i = y * width + x;
      const vx = uxx[i]! - ux[i]! * ux[i]!;
      const vy = uyy[i]! - uy[i]! * uy[i]!;
      const vxy = uxy[i]! - ux[i]! * uy[i]!;
      sum += ((2 * ux[i]! * uy[i]! + c1) * (2 * vxy + c2)) / ((ux[i]! ** 2 + uy[i]! ** 2 + c1) * (vx + vy + c2));
      count++;
    }
  }
  return sum / count;
}
