import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { Rng } from '../../src/rng/index.js';
import {
  averageRanks, bootstrapMeanInterval, compareMethods, holmAdjust, kendallW, normalCdf, percentileOfSorted, wilcoxonSignedRank,
} from '../../src/scoring/index.js';

// Made by scipy / numpy (test/scoring/fixtures/make_statistics.py); an independent implementation on fixed inputs.
const fixture = JSON.parse(readFileSync(new URL('../../../test/scoring/fixtures/statistics.json', import.meta.url), 'utf8')) as {
  wilcoxon: Array<{ name: string; x: number[]; y: number[]; statistic: number; p: number }>;
  normal_cdf: Array<[number, number]>;
  percentile: { values: number[]; q: number[]; expected: number[] };
  kendall_w: Array<{ scores: number[][]; w: number }>;
};
const close = (a: number, b: number, rel = 1e-9) => Math.abs(a - b) <= rel * Math.max(Math.abs(b), 1e-300);

test('Wilcoxon signed-rank equals scipy.stats.wilcoxon (exact, normal, ties, zeros)', () => {
  for (const c of fixture.wilcoxon) {
    const r = wilcoxonSignedRank(c.x, c.y);
    assert.equal(r.statistic, c.statistic, c.name);
    assert.ok(close(r.p, c.p), `${c.name}: p ${r.p} vs scipy ${c.p}`);
  }
  assert.deepEqual(wilcoxonSignedRank([1, 2], [1, 2]), { n: 0, statistic: 0, p: 1, method: 'exact' });
});

test('normal CDF and numpy percentile agree with scipy / numpy', () => {
  for (const [z, p] of fixture.normal_cdf) assert.ok(close(normalCdf(z), p, 1e-12), `z ${z}: ${normalCdf(z)} vs ${p}`);
  const sorted = [...fixture.percentile.values].sort((a, b) => a - b);
  fixture.percentile.q.forEach((q, i) => assert.ok(close(percentileOfSorted(sorted, q), fixture.percentile.expected[i]!, 1e-12)));
});

test('bootstrap interval of the mean: close to the exact one from all 5^5 resamples; seeded', () => {
  const values = [0.1, 0.4, 0.35, 0.9, 0.2];
  // Exact bootstrap distribution: every resample (i1 … i5) is equally likely.
  const means: number[] = [];
  for (let k = 0; k < 5 ** 5; k++) {
    let sum = 0;
    for (let j = 0, r = k; j < 5; j++, r = Math.floor(r / 5)) sum += values[r % 5]!;
    means.push(sum / 5);
  }
  means.sort((a, b) => a - b);
  const exact = [percentileOfSorted(means, 2.5), percentileOfSorted(means, 97.5)];
  const interval = bootstrapMeanInterval(values, Rng.derive(3, 'bootstrap-test'), 40_000)!;
  assert.ok(Math.abs(interval[0] - exact[0]!) < 0.01 && Math.abs(interval[1] - exact[1]!) < 0.01, `${interval} vs ${exact}`);
  assert.deepEqual(bootstrapMeanInterval(values, Rng.derive(3, 'x')), bootstrapMeanInterval(values, Rng.derive(3, 'x')));
  assert.equal(bootstrapMeanInterval([1], Rng.derive(1)), null);
});

test('Holm adjustment by hand; average ranks as scipy.stats.rankdata', () => {
  // sorted 0.01, 0.02, 0.03, 0.5 → ×4, ×3, ×2, ×1 = 0.04, 0.06, 0.06, 0.5 (monotone), back in input order
  assert.deepEqual(holmAdjust([0.03, 0.5, 0.01, 0.02]).map((v) => Math.round(v * 1e12) / 1e12), [0.06, 0.5, 0.04, 0.06]);
  assert.deepEqual(holmAdjust([0.4, 0.6]), [0.8, 0.8]);
  assert.deepEqual(Array.from(averageRanks([10, 20, 10, 5])), [2.5, 4, 2.5, 1]);
});

test("Kendall's W: 1 for identical rankings, 0 for opposite pairs, the textbook value with ties", () => {
  assert.equal(kendallW([[1, 2, 3], [10, 20, 30], [0.1, 0.2, 0.3]]), 1);
  assert.equal(kendallW([[1, 2, 3, 4], [4, 3, 2, 1]]), 0);
  // 3 raters, 4 items, rater 3 ties two items (ranks 2, 1, 3.5, 3.5): rank sums 4, 6, 8.5, 11.5 around a mean
  // of 7.5 → S = 31.5; tie term Σ(t³ − t) = 6, so W = 12·31.5 / (3²·(4³ − 4) − 3·6) = 378 / 522.
  const w = kendallW([[1, 2, 3, 4], [1, 3, 2, 4], [2, 1, 4, 4]])!;
  assert.ok(Math.abs(w - 378 / 522) < 1e-12, String(w));
  assert.equal(kendallW([[1, 2]]), null);
  for (const c of fixture.kendall_w) assert.ok(close(kendallW(c.scores)!, c.w, 1e-9), `${kendallW(c.scores)} vs scipy ${c.w}`);
});

test('compareMethods: intervals around every mean, paired tests with Holm, a ranking that groups ties; seeded', () => {
  const rng = Rng.derive(9, 'compare');
  const n = 40;
  const base = Array.from({ length: n }, () => rng.next());
  const methods = [
    { method: 'Good', values: { Rmu: base.map((v) => v + 0.3), pointing: base.map((_, i) => (i % 4 ? 1 : null)) } },
    { method: 'Twin', values: { Rmu: base.map((v) => v + 0.3 + (rng.next() - 0.5) * 1e-3), pointing: base.map(() => 0) } },
    { method: 'Bad', values: { Rmu: base, pointing: base.map(() => 0) } },
  ];
  const groups = { all: base.map((_, i) => i), correct: [0, 1, 2, 3], excluding_class_9: null };
  const stats = compareMethods(methods, groups, ['Rmu', 'pointing'], { seed: 1, resamples: 500 });
  const good = stats.intervals.Good!.all!.Rmu!;
  assert.ok(good.ci![0] < good.mean! && good.mean! < good.ci![1]);
  assert.equal(stats.intervals.Good!.all!.pointing!.mean, 1); // nulls left out
  assert.deepEqual(Object.keys(stats.intervals.Good!), ['all', 'correct']);
  assert.deepEqual(stats.ranking.Rmu!.map((r) => r.method).slice(2), ['Bad']);
  const bad = stats.ranking.Rmu!.find((r) => r.method === 'Bad')!;
  assert.deepEqual(bad.not_different_from, []);
  const goodBad = stats.comparisons.Rmu!.find((c) => c.a === 'Good' && c.b === 'Bad')!;
  assert.ok(goodBad.p < 1e-6 && goodBad.p_holm >= goodBad.p && goodBad.p_holm <= 3 * goodBad.p + 1e-15);
  assert.deepEqual(compareMethods(methods, groups, ['Rmu', 'pointing'], { seed: 1, resamples: 500 }), stats);
  assert.deepEqual(compareMethods([...methods].reverse(), groups, ['Rmu'], { seed: 1, resamples: 500 }).intervals.Good, compareMethods(methods, groups, ['Rmu'], { seed: 1, resamples: 500 }).intervals.Good);
});
