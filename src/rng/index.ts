import { createHash } from 'node:crypto';

/**
 * The one source of randomness in fiveband: xoshiro128** (Blackman & Vigna), 32-bit state words, with
 * 53-bit uniform doubles and a Box–Muller normal sampler.
 *
 * Streams are derived from a key path, e.g. `Rng.derive(seed, 'train', 17)`: the 128-bit state is the first
 * 16 bytes of sha256 of the path, so every sample/shard/run gets an independent, reproducible stream whatever
 * order or thread computes it.
 */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  private constructor(state: Uint32Array) {
    [this.s0, this.s1, this.s2, this.s3] = [state[0]!, state[1]!, state[2]!, state[3]!];
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** A stream for the key path `parts` (numbers and strings; `derive(1,'a')` differs from `derive('1a')`). */
  static derive(...parts: ReadonlyArray<string | number | bigint>): Rng {
    const key = JSON.stringify(parts.map((p) => (typeof p === 'string' ? `s:${p}` : `n:${String(p)}`)));
    const digest = createHash('sha256').update(key).digest();
    return new Rng(new Uint32Array(digest.buffer, digest.byteOffset, 4).slice());
  }

  /** A child stream keyed by this stream's next outputs and `parts` (for handing streams to sub-tasks). */
  child(...parts: ReadonlyArray<string | number>): Rng {
    return Rng.derive(this.nextUint32(), this.nextUint32(), ...parts);
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  next(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** U(a, b) on [a, b). */
  uniform(a = 0, b = 1): number {
    return a + (b - a) * this.next();
  }

  /** Uniform integer in [lo, hi) (hi exclusive, like numpy's randint), without modulo bias. */
  int(lo: number, hi: number): number {
    const range = hi - lo;
    if (!(range >= 1) || !Number.isInteger(range)) throw new RangeError(`empty integer range [${lo}, ${hi})`);
    if (range > 2 ** 32) return lo + Math.floor(this.next() * range);
    const limit = 2 ** 32 - (2 ** 32 % range);
    let x: number;
    do x = this.nextUint32();
    while (x >= limit);
    return lo + (x % range);
  }

  /**
   * N(mean, sd) by the Box–Muller transform (pairs; the second value is kept for the next call). Weight
   * initialisation and the datasets draw with it (their committed outputs depend on its exact values); bulk noise
   * uses `fillNormal`, which is several times faster.
   */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + sd * z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return mean + sd * r * Math.cos(2 * Math.PI * v);
  }

  /**
   * Fills `out` with N(mean, sd) draws by the ziggurat method (Marsaglia & Tsang 2000, 128 layers). One 32-bit output
   * per draw gives the layer (its low 7 bits) and a signed value in [−1, 1) (the other 25: a float32's precision) —
   * separate bits, as Doornik (2005) requires; ~98.8 % of draws cost that and one multiply and compare. (Box–Muller's
   * log, sqrt, sin and cos made a NoiseTunnel call spend most of its time drawing its million normals.) A different
   * stream from `normal`'s; float32 output only.
   */
  fillNormal(out: Float32Array, mean = 0, sd = 1): void {
    const { x, ratio } = ZIGGURAT;
    for (let k = 0; k < out.length; k++) {
      let z: number;
      for (;;) {
        const bits = this.nextUint32() | 0;
        const i = bits & 127;
        const u = (bits >> 7) * 5.9604644775390625e-8; // × 2^−24: [−1, 1), no branch on the sign
        if (Math.abs(u) < ratio[i]!) {
          z = u * x[i]!;
          break;
        }
        if (i === 0) {
          // The tail beyond R (Marsaglia 1964), on the side of u's sign.
          let a: number, b: number;
          do {
            a = -Math.log(1 - this.next()) / ZIGGURAT_R;
            b = -Math.log(1 - this.next());
          } while (2 * b < a * a);
          z = u < 0 ? -(ZIGGURAT_R + a) : ZIGGURAT_R + a;
          break;
        }
        // The wedge between layers i and i + 1: accept under the density.
        const v = u * x[i]!;
        const f0 = Math.exp(-0.5 * (x[i]! * x[i]! - v * v));
        const f1 = Math.exp(-0.5 * (x[i + 1]! * x[i + 1]! - v * v));
        if (f1 + this.next() * (f0 - f1) < 1) {
          z = v;
          break;
        }
      }
      out[k] = mean + sd * z;
    }
  }

  /**
   * fillNormal run by `fill`, a faster implementation of its exact steps (the native addon's): it gets the stream's
   * state as four words, the ziggurat's tables, and updates the state, which the stream then continues from.
   */
  fillNormalWith(out: Float32Array, mean: number, sd: number, fill: (state: Uint32Array, out: Float32Array, mean: number, sd: number, tables: ZigguratTables) => void): void {
    const state = Uint32Array.of(this.s0, this.s1, this.s2, this.s3);
    fill(state, out, mean, sd, ZIGGURAT_TABLES);
    [this.s0, this.s1, this.s2, this.s3] = [state[0]!, state[1]!, state[2]!, state[3]!];
  }

  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

/** The ziggurat's rightmost layer edge R and the area V of each of its 128 layers (Marsaglia & Tsang 2000). */
const ZIGGURAT_R = 3.442619855899;
const ZIGGURAT_V = 9.91256303526217e-3;

/**
 * Layer edges x[0..128] (x[0] = V / f(R) is the base layer's virtual width, x[1] = R, x[128] = 0) and, per layer,
 * the fraction x[i+1] / x[i] of it that lies wholly under the density f(x) = exp(−x²/2).
 */
const ZIGGURAT = (() => {
  const f = (t: number) => Math.exp(-0.5 * t * t);
  const x = new Float64Array(129);
  x[0] = ZIGGURAT_V / f(ZIGGURAT_R);
  x[1] = ZIGGURAT_R;
  for (let i = 2; i < 128; i++) x[i] = Math.sqrt(-2 * Math.log(ZIGGURAT_V / x[i - 1]! + f(x[i - 1]!)));
  x[128] = 0;
  const ratio = new Float64Array(128);
  for (let i = 0; i < 128; i++) ratio[i] = x[i + 1]! / x[i]!;
  return { x, ratio };
})();

/** fillNormal's tables as an accelerated fill takes them: layer edges x, ratios, the tail's edge r. */
export interface ZigguratTables {
  readonly x: Float64Array;
  readonly ratio: Float64Array;
  readonly r: number;
}

const ZIGGURAT_TABLES: ZigguratTables = { ...ZIGGURAT, r: ZIGGURAT_R };

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
