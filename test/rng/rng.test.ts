import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/rng/index.js';

test('xoshiro128** matches the reference algorithm for a known state', () => {
  // Independent slow re-implementation with BigInt arithmetic, from the published algorithm.
  const r = Rng.derive(42, 'check');
  const copy = Rng.derive(42, 'check') as unknown as { s0: number; s1: number; s2: number; s3: number };
  let s = [copy.s0, copy.s1, copy.s2, copy.s3].map((v) => BigInt(v >>> 0));
  const M = 0xffffffffn;
  const rotl = (x: bigint, k: bigint) => ((x << k) | (x >> (32n - k))) & M;
  for (let i = 0; i < 1000; i++) {
    const expected = (rotl((s[1]! * 5n) & M, 7n) * 9n) & M;
    const t = (s[1]! << 9n) & M;
    s = [s[0]!, s[1]!, s[2]! ^ s[0]!, s[3]! ^ s[1]!];
    s[1] = s[1]! ^ s[2]!;
    s[0] = s[0]! ^ s[3]!;
    s[2] = s[2]! ^ t;
    s[3] = rotl(s[3]!, 11n);
    assert.equal(r.nextUint32(), Number(expected));
  }
});

test('streams are reproducible and independent by key', () => {
  const a = Array.from({ length: 5 }, ((r) => () => r.next())(Rng.derive(1, 'train', 3)));
  const b = Array.from({ length: 5 }, ((r) => () => r.next())(Rng.derive(1, 'train', 3)));
  const c = Array.from({ length: 5 }, ((r) => () => r.next())(Rng.derive(1, 'train', 4)));
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.notDeepEqual(Rng.derive(1, 'a').next(), Rng.derive('1', 'a').next());
});

test('uniform, int and normal have the right ranges and moments', () => {
  const r = Rng.derive(7);
  const n = 200_000;
  let sum = 0, sumSq = 0, uMin = 1, uMax = 0;
  const counts = new Array(10).fill(0);
  for (let i = 0; i < n; i++) {
    const u = r.uniform(2, 5);
    uMin = Math.min(uMin, u); uMax = Math.max(uMax, u);
    assert.ok(u >= 2 && u < 5);
    counts[r.int(0, 10)]++;
    const z = r.normal(1, 2);
    sum += z; sumSq += z * z;
  }
  const mean = sum / n;
  const sd = Math.sqrt(sumSq / n - mean * mean);
  assert.ok(Math.abs(mean - 1) < 0.03, `normal mean ${mean}`);
  assert.ok(Math.abs(sd - 2) < 0.03, `normal sd ${sd}`);
  for (const c of counts) assert.ok(Math.abs(c - n / 10) < 0.02 * n, `int histogram ${counts}`);
  assert.throws(() => r.int(3, 3), RangeError);
});

test('shuffle is a permutation', () => {
  const items = Array.from({ length: 50 }, (_, i) => i);
  const shuffled = Rng.derive(3).shuffle([...items]);
  assert.notDeepEqual(shuffled, items);
  assert.deepEqual([...shuffled].sort((x, y) => x - y), items);
});

/** Φ(z) from erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7, far below the KS bound tested). */
function normalCdf(z: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(z) / Math.SQRT2);
  const erf = 1 - t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-z * z / 2);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

test('fillNormal (ziggurat) draws N(mean, sd): Kolmogorov–Smirnov against Φ, moments, the tail beyond R, reproducible', () => {
  const n = 400_000;
  const draws = new Float32Array(n);
  Rng.derive(11, 'ziggurat').fillNormal(draws, 1, 2);
  const again = new Float32Array(n);
  Rng.derive(11, 'ziggurat').fillNormal(again, 1, 2);
  assert.deepEqual(again, draws);
  const z = draws.map((v) => (v - 1) / 2).sort();
  let d = 0;
  for (let i = 0; i < n; i++) {
    const p = normalCdf(z[i]!);
    d = Math.max(d, Math.abs(p - i / n), Math.abs(p - (i + 1) / n));
  }
  assert.ok(d < 1.63 / Math.sqrt(n), `KS distance ${d} (1 % critical value ${1.63 / Math.sqrt(n)})`);
  let sum = 0, sumSq = 0, beyondR = 0, beyond4 = 0;
  for (const v of z) {
    sum += v; sumSq += v * v;
    if (Math.abs(v) > 3.442619855899) beyondR++;
    if (Math.abs(v) > 4) beyond4++;
  }
  assert.ok(Math.abs(sum / n) < 0.01 && Math.abs(sumSq / n - 1) < 0.015, `moments ${sum / n}, ${sumSq / n}`);
  // P(|Z| > R) = 5.76e-4 (230 expected), P(|Z| > 4) = 6.3e-5 (25 expected): the tail sampler and the base layer.
  assert.ok(beyondR > 180 && beyondR < 285, `draws beyond R: ${beyondR}`);
  assert.ok(beyond4 > 10 && beyond4 < 45, `draws beyond 4: ${beyond4}`);
});
