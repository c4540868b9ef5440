// WebAssembly SIMD kernels (AssemblyScript) for the wasm backend's memory-bound passes, which V8 does not
// vectorise: BatchNorm, the ReLU and max-pool gradients, Adam, column sums (bias gradients) and matrix
// transposes. Run from TypeScript they took 4-20 ns per element, about a fifth of a ResNet34 training step.
// They work in place on the tfjs wasm heap (the module imports its memory): every argument is a byte
// address or a count. Activations are [rows, channels] with channels innermost and a multiple of 4;
// per-channel statistics are float64, as in the TypeScript kernels they replace.

/** Rows per block: a block of activations stays in the L1/L2 cache while each group of 4 channels walks it. */
function blockRows(channels: i32): i32 {
  return max<i32>(1, 8192 / channels);
}

/**
 * sums[c] += Σ_r x[r, c] and squares[c] += Σ_r x[r, c]² (float64 at `sums`, `squares`; C values each).
 */
export function channelSums(x: usize, rows: i32, channels: i32, sums: usize, squares: usize): void {
  const rowBytes = <usize>channels << 2;
  const block = blockRows(channels);
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = min<i32>(rows, r0 + block);
    for (let c = 0; c < channels; c += 4) {
      let sLow = f64x2.splat(0), sHigh = f64x2.splat(0), qLow = f64x2.splat(0), qHigh = f64x2.splat(0);
      let at = x + <usize>r0 * rowBytes + (<usize>c << 2);
      for (let r = r0; r < r1; r++, at += rowBytes) {
        const v = v128.load(at);
        const low = f64x2.promote_low_f32x4(v);
        const high = f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1));
        sLow = f64x2.add(sLow, low);
        sHigh = f64x2.add(sHigh, high);
        qLow = f64x2.add(qLow, f64x2.mul(low, low));
        qHigh = f64x2.add(qHigh, f64x2.mul(high, high));
      }
      const s = sums + (<usize>c << 3), q = squares + (<usize>c << 3);
      v128.store(s, f64x2.add(v128.load(s), sLow));
      v128.store(s, f64x2.add(v128.load(s, 16), sHigh), 16);
      v128.store(q, f64x2.add(v128.load(q), qLow));
      v128.store(q, f64x2.add(v128.load(q, 16), qHigh), 16);
    }
  }
}

/**
 * sumDy[c] += Σ_r dy[r, c] and sumDyCentred[c] += Σ_r dy[r, c]·(x[r, c] − mean[c]) (float64 sums; mean float32).
 */
export function gradientSums(dy: usize, x: usize, mean: usize, rows: i32, channels: i32, sumDy: usize, sumDyCentred: usize): void {
  const rowBytes = <usize>channels << 2;
  const block = blockRows(channels);
  for (let r0 = 0; r0 < rows; r0 += block) {
    const r1 = min<i32>(rows, r0 + block);
    for (let c = 0; c < channels; c += 4) {
      const m = v128.load(mean + (<usize>c << 2));
      const mLow = f64x2.promote_low_f32x4(m);
      const mHigh = f64x2.promote_low_f32x4(v128.shuffle<i32>(m, m, 2, 3, 0, 1));
      let dLow = f64x2.splat(0), dHigh = f64x2.splat(0), cLow = f64x2.splat(0), cHigh = f64x2.splat(0);
      const offset = <usize>r0 * rowBytes + (<usize>c << 2);
      let atDy = dy + offset, atX = x + offset;
      for (let r = r0; r < r1; r++, atDy += rowBytes, atX += rowBytes) {
        const d = v128.load(atDy), v = v128.load(atX);
        const d0 = f64x2.promote_low_f32x4(d), d1 = f64x2.promote_low_f32x4(v128.shuffle<i32>(d, d, 2, 3, 0, 1));
        const x0 = f64x2.promote_low_f32x4(v), x1 = f64x2.promote_low_f32x4(v128.shuffle<i32>(v, v, 2, 3, 0, 1));
        dLow = f64x2.add(dLow, d0);
        dHigh = f64x2.add(dHigh, d1);
        cLow = f64x2.add(cLow, f64x2.mul(d0, f64x2.sub(x0, mLow)));
        cHigh = f64x2.add(cHigh, f64x2.mul(d1, f64x2.sub(x1, mHigh)));
      }
      const s = sumDy + (<usize>c << 3), q = sumDyCentred + (<usize>c << 3);
      v128.store(s, f64x2.add(v128.load(s), dLow));
      v128.store(s, f64x2.add(v128.load(s, 16), dHigh), 16);
      v128.store(q, f64x2.add(v128.load(q), cLow));
      v128.store(q, f64x2.add(v128.load(q, 16), cHigh), 16);
    }
  }
}

/** out[r, c] = a[c]·u[r, c] + k[c] (float32; a and k hold C values). */
export function scaleShift(u: usize, out: usize, rows: i32, channels: i32, a: usize, k: usize): void {
  const rowBytes = <usize>channels << 2;
  const end = u + <usize>rows * rowBytes;
  for (let at = u, to = out; at < end; at += rowBytes, to += rowBytes) {
    for (let c: usize = 0; c < rowBytes; c += 16) {
      v128.store(to + c, f32x4.add(f32x4.mul(v128.load(at + c), v128.load(a + c)), v128.load(k + c)));
    }
  }
}

/** out[r, c] = a[c]·u[r, c] + b[c]·w[r, c] + k[c] (float32). */
export function scaleShift2(u: usize, w: usize, out: usize, rows: i32, channels: i32, a: usize, b: usize, k: usize): void {
  const rowBytes = <usize>channels << 2;
  const bytes = <usize>rows * rowBytes;
  for (let row: usize = 0; row < bytes; row += rowBytes) {
    for (let c: usize = 0; c < rowBytes; c += 16) {
      const at = row + c;
      const sum = f32x4.add(f32x4.mul(v128.load(u + at), v128.load(a + c)), f32x4.mul(v128.load(w + at), v128.load(b + c)));
      v128.store(out + at, f32x4.add(sum, v128.load(k + c)));
    }
  }
}

/**
 * Max-pooling gradient, channels in groups of 4: each output gradient dy[b, r, c, ch] is added to dx at the
 * first maximum of its window (rows ⌈r·sh − top⌉.., clipped to the image; padding excluded), as the cpu
 * backend and PyTorch route it. dx must be zero-filled; windows are visited in order, so sums over
 * overlapping windows are formed in the same order as the TypeScript kernel's.
 */
export function maxPoolGrad(
  dy: usize, x: usize, dx: usize, batch: i32, height: i32, width: i32, channels: i32, outHeight: i32, outWidth: i32,
  kernelHeight: i32, kernelWidth: i32, strideHeight: i32, strideWidth: i32, top: i32, left: i32,
): void {
  const pixelBytes = <usize>channels << 2;
  let atDy = dy;
  for (let b = 0; b < batch; b++) {
    const image = <usize>b * <usize>height * <usize>width * pixelBytes;
    for (let r = 0; r < outHeight; r++) {
      const r0 = max<i32>(0, r * strideHeight - top), r1 = min<i32>(height, r * strideHeight - top + kernelHeight);
      for (let c = 0; c < outWidth; c++, atDy += pixelBytes) {
        const c0 = max<i32>(0, c * strideWidth - left), c1 = min<i32>(width, c * strideWidth - left + kernelWidth);
        if (r1 <= r0 || c1 <= c0) continue;
        const first = image + (<usize>(r0 * width + c0)) * pixelBytes;
        for (let ch: usize = 0; ch < pixelBytes; ch += 16) {
          // Byte offsets (from x) of each lane's running maximum.
          let best = v128.load(x + first + ch);
          let at = i32x4.add(i32x4.splat(<i32>(first + ch)), i32x4(0, 4, 8, 12));
          for (let i = r0; i < r1; i++) {
            for (let j = i == r0 ? c0 + 1 : c0; j < c1; j++) {
              const offset = image + (<usize>(i * width + j)) * pixelBytes + ch;
              const v = v128.load(x + offset);
              const greater = f32x4.gt(v, best);
              best = v128.bitselect(v, best, greater);
              at = v128.bitselect(i32x4.add(i32x4.splat(<i32>offset), i32x4(0, 4, 8, 12)), at, greater);
            }
          }
          const grad = v128.load(atDy + ch);
          let target = dx + <usize>i32x4.extract_lane(at, 0);
          store<f32>(target, load<f32>(target) + f32x4.extract_lane(grad, 0));
          target = dx + <usize>i32x4.extract_lane(at, 1);
          store<f32>(target, load<f32>(target) + f32x4.extract_lane(grad, 1));
          target = dx + <usize>i32x4.extract_lane(at, 2);
          store<f32>(target, load<f32>(target) + f32x4.extract_lane(grad, 2));
          target = dx + <usize>i32x4.extract_lane(at, 3);
          store<f32>(target, load<f32>(target) + f32x4.extract_lane(grad, 3));
        }
      }
    }
  }
}

/** dx[i] = x[i] > 0 ? dy[i] : 0 (the ReLU gradient; 0 at 0, as PyTorch); n elements. */
export function reluGrad(dy: usize, x: usize, dx: usize, n: i32): void {
  const bytes = <usize>n << 2;
  const vectorBytes = bytes & ~(<usize>15);
  const zero = f32x4.splat(0);
  for (let at: usize = 0; at < vectorBytes; at += 16) {
    v128.store(dx + at, v128.and(v128.load(dy + at), f32x4.gt(v128.load(x + at), zero)));
  }
  for (let at = vectorBytes; at < bytes; at += 4) store<f32>(dx + at, load<f32>(x + at) > 0 ? load<f32>(dy + at) : 0);
}

/**
 * One Adam step (PyTorch's, L2 weight decay added to the gradient) over n parameters, float32:
 * g = grad + weightDecay·value, m' = β₁m + (1 − β₁)g, v' = β₂v + (1 − β₂)g²,
 * value' = value − stepSize·m' / (√v' / sqrtBias2 + eps).
 */
export function adamUpdate(
  value: usize, grad: usize, m: usize, v: usize, outValue: usize, outM: usize, outV: usize, n: i32,
  beta1: f32, beta2: f32, weightDecay: f32, stepSize: f32, sqrtBias2: f32, eps: f32,
): void {
  const oneMinusBeta1 = <f32>(1 - <f64>beta1), oneMinusBeta2 = <f32>(1 - <f64>beta2);
  const b1 = f32x4.splat(beta1), b2 = f32x4.splat(beta2), c1 = f32x4.splat(oneMinusBeta1), c2 = f32x4.splat(oneMinusBeta2);
  const wd = f32x4.splat(weightDecay), step = f32x4.splat(stepSize), bias = f32x4.splat(sqrtBias2), e = f32x4.splat(eps);
  const bytes = <usize>n << 2;
  const vectorBytes = bytes & ~(<usize>15);
  for (let at: usize = 0; at < vectorBytes; at += 16) {
    const p = v128.load(value + at);
    const g = f32x4.add(v128.load(grad + at), f32x4.mul(wd, p));
    const m1 = f32x4.add(f32x4.mul(b1, v128.load(m + at)), f32x4.mul(c1, g));
    const v1 = f32x4.add(f32x4.mul(b2, v128.load(v + at)), f32x4.mul(c2, f32x4.mul(g, g)));
    v128.store(outM + at, m1);
    v128.store(outV + at, v1);
    v128.store(outValue + at, f32x4.sub(p, f32x4.div(f32x4.mul(step, m1), f32x4.add(f32x4.div(f32x4.sqrt(v1), bias), e))));
  }
  for (let at = vectorBytes; at < bytes; at += 4) {
    const p = load<f32>(value + at);
    const g = load<f32>(grad + at) + weightDecay * p;
    const m1 = beta1 * load<f32>(m + at) + oneMinusBeta1 * g;
    const v1 = beta2 * load<f32>(v + at) + oneMinusBeta2 * g * g;
    store<f32>(outM + at, m1);
    store<f32>(outV + at, v1);
    store<f32>(outValue + at, p - (stepSize * m1) / (Mathf.sqrt(v1) / sqrtBias2 + eps));
  }
}

/**
 * out[c, r] = x[r, c] for a row-major [rows, cols] matrix: 4 × 4 blocks transposed in registers, walked in
 * 32 × 32 tiles so both sides stay in cache; the rows and columns beyond the last multiple of 4 are scalar.
 */
export function transpose2d(x: usize, out: usize, rows: i32, cols: i32): void {
  const rows4 = rows & ~3, cols4 = cols & ~3;
  const inRow = <usize>cols << 2, outRow = <usize>rows << 2;
  for (let r0 = 0; r0 < rows4; r0 += 32) {
    const r1 = min<i32>(rows4, r0 + 32);
    for (let c0 = 0; c0 < cols4; c0 += 32) {
      const c1 = min<i32>(cols4, c0 + 32);
      for (let r = r0; r < r1; r += 4) {
        for (let c = c0; c < c1; c += 4) {
          const at = x + <usize>r * inRow + (<usize>c << 2);
          const a0 = v128.load(at), a1 = v128.load(at + inRow), a2 = v128.load(at + 2 * inRow), a3 = v128.load(at + 3 * inRow);
          const t0 = v128.shuffle<i32>(a0, a1, 0, 4, 1, 5), t1 = v128.shuffle<i32>(a2, a3, 0, 4, 1, 5);
          const t2 = v128.shuffle<i32>(a0, a1, 2, 6, 3, 7), t3 = v128.shuffle<i32>(a2, a3, 2, 6, 3, 7);
          const to = out + <usize>c * outRow + (<usize>r << 2);
          v128.store(to, v128.shuffle<i32>(t0, t1, 0, 1, 4, 5));
          v128.store(to + outRow, v128.shuffle<i32>(t0, t1, 2, 3, 6, 7));
          v128.store(to + 2 * outRow, v128.shuffle<i32>(t2, t3, 0, 1, 4, 5));
          v128.store(to + 3 * outRow, v128.shuffle<i32>(t2, t3, 2, 3, 6, 7));
        }
      }
    }
  }
  for (let r = 0; r < rows; r++) {
    // Columns past the blocks in every row, and every column of the rows past the blocks.
    const from = r < rows4 ? cols4 : 0;
    for (let c = from; c < cols; c++) store<f32>(out + <usize>c * outRow + (<usize>r << 2), load<f32>(x + <usize>r * inRow + (<usize>c << 2)));
  }
}
