import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  isNullExplainer, npMean, npStd, pythonFloat, rocPoints, skillOverBestNull, summariseMethod, summariseSample, type MethodSummary, type SampleScores,
} from '../../src/scoring/index.js';

test('npMean / npStd reproduce numpy 1.24 bit for bit (pairwise summation), where a plain sum differs', () => {
  // Expected values printed by numpy 1.24.2: repr(np.mean(v)), repr(np.std(v)).
  const series = (n: number) => Array.from({ length: n }, (_, i) => 1 / (i + 3) + (i % 5) * 0.1);
  assert.equal(npMean(series(56)), 0.2526116891739768);
  assert.equal(npStd(series(56)), 0.14744935511157994);
  assert.equal(npMean(series(129)), 0.2291180226825755); // a left-to-right sum gives 0.22911802268257553
  assert.equal(npStd(series(129)), 0.14447355862834918);
  assert.equal(npMean(series(1000)), 0.20598746786554137); // left-to-right: 0.20598746786554148
  assert.equal(npStd(series(1000)), 0.14217281129323933);
  const harmonic = Array.from({ length: 300 }, (_, i) => 1 / (i + 1));
  assert.equal(npMean(harmonic), 0.02094221293433168); // left-to-right: 0.020942212934331673
  assert.equal(npStd(harmonic), 0.07094677343195521);
  assert.equal(npMean([0.1, 0.2, 0.3]), 0.20000000000000004);
});

test('floats are written as Python repr writes them (what pandas puts in the reference CSVs)', () => {
  const cases: Array<[number, string]> = [
    [1.0, '1.0'], [0, '0.0'], [-0, '-0.0'], [0.1, '0.1'], [-0.5, '-0.5'], [1e-5, '1e-05'], [0.0001, '0.0001'],
    [0.00012345, '0.00012345'], [1e16, '1e+16'], [1e15, '1000000000000000.0'], [123456789012345680, '1.2345678901234568e+17'],
    [5e-324, '5e-324'], [1e22, '1e+22'], [1234.5, '1234.5'], [0.9999998750000157, '0.9999998750000157'],
    [0.57142848979593, '0.57142848979593'], [2.5e-7, '2.5e-07'], [-3e-5, '-3e-05'],
    [1.7976931348623157e308, '1.7976931348623157e+308'], [100, '100.0'], [0.30000000000000004, '0.30000000000000004'],
  ];
  for (const [value, text] of cases) assert.equal(pythonFloat(value), text, String(value));
});

function fakeScores(A: number[], R: number[], P: number[], FPR: number[], metrics: Record<string, number | null> = {}): SampleScores {
  return {
    A: Float64Array.from(A), R: Float64Array.from(R), P: Float64Array.from(P), FPR: Float64Array.from(FPR),
    counts: new Float64Array(4 * A.length), degeneracy: 'none', metrics,
  };
}

test('per-sample summary: mean, best and the index of the first best (np.argmax)', () => {
  const s = summariseSample(fakeScores([0.5, 0.7, 0.7], [0.2, 0.1, 0.3], [0.9, 0.9, 0.1], [0, 0, 0]));
  assert.deepEqual(s, {
    Amu: npMean([0.5, 0.7, 0.7]), Au: 0.7, Au1: 1, Rmu: npMean([0.2, 0.1, 0.3]), Ru: 0.3, Ru1: 2,
    Pmu: npMean([0.9, 0.9, 0.1]), Pu: 0.9, Pu1: 0,
  });
});

test('ROC points are mean recall and mean FPR per threshold set', () => {
  const roc = rocPoints([fakeScores([0, 0], [0.2, 0.4], [0, 0], [0.1, 0.3]), fakeScores([0, 0], [0.6, 0.8], [0, 0], [0.5, 0.7])]);
  assert.deepEqual(Array.from(roc.recall), [npMean([0.2, 0.6]), npMean([0.4, 0.8])]);
  assert.deepEqual(Array.from(roc.fpr), [npMean([0.1, 0.5]), npMean([0.3, 0.7])]);
});

test('method summary: population std, correct-only and class-9 filters, metric counts, degenerate ids', () => {
  const samples = [
    fakeScores([0.2], [0.1], [0.3], [0], { x: 1 }),
    fakeScores([0.4], [0.5], [0.7], [0], { x: null }),
    { ...fakeScores([0.9], [0], [0], [0], { x: 0 }), degeneracy: 'all-zero' as const },
  ];
  const summaries = samples.map(summariseSample);
  const labels = [{ y0: 1, yPred: 1 }, { y0: 2, yPred: 3 }, { y0: 9, yPred: 9 }];
  const s = summariseMethod('M', ['a', 'b', 'c'], samples, summaries, labels, ['x']);
  assert.equal(s.n, 3);
  assert.deepEqual(s.degenerate, { 'all-zero': ['c'], cancelled: [] });
  assert.equal(s.groups.all.mean.Amu, npMean([0.2, 0.4, 0.9]));
  assert.equal(s.groups.all.std.Amu, npStd([0.2, 0.4, 0.9]));
  assert.equal(s.groups.all.mean.x, 0.5); // null left out
  assert.equal(s.groups.all.defined.x, 2);
  assert.equal(s.groups.correct!.n, 2);
  assert.equal(s.groups.correct!.mean.Pu, npMean([0.3, 0]));
  assert.equal(s.groups.excluding_class_9!.n, 2);
  assert.equal(s.groups.excluding_class_9!.mean.Ru, npMean([0.1, 0.5]));
  assert.equal(s.groups.correct_excluding_class_9!.n, 1);
  const unlabelled = summariseMethod('M', ['a', 'b', 'c'], samples, summaries, null, ['x']);
  assert.equal(unlabelled.groups.correct, null);
  assert.equal(unlabelled.groups.excluding_class_9, null);
  const empty = summariseMethod('M', ['a'], samples.slice(0, 1), summaries.slice(0, 1), [{ y0: 1, yPred: 2 }], ['x']);
  assert.equal(empty.groups.correct!.n, 0);
  assert.equal(empty.groups.correct!.mean.Amu, null); // no NaN for an empty group
});

test('skill over the best null: each real method minus the highest null mean, per column; nothing without nulls', () => {
  const summary = (method: string, Rmu: number, Pmu: number | null): MethodSummary => ({
    method, n: 1, degenerate: { 'all-zero': [], cancelled: [] },
    groups: { all: { n: 1, mean: { Amu: 0.5, Au: 0.5, Rmu, Ru: Rmu, Pmu, Pu: Pmu }, std: {}, defined: {} }, correct: null, excluding_class_9: null, correct_excluding_class_9: null },
  });
  const methods = {
    Saliency: summary('Saliency', 0.9, 0.3), NullUniform: summary('NullUniform', 0.7, 0.05), NullEdges: summary('NullEdges', 0.5, 0.2), DeepLift: summary('DeepLift', 0.4, null),
  };
  const skill = skillOverBestNull(methods);
  assert.deepEqual(Object.keys(skill), ['Saliency', 'DeepLift']);
  assert.equal(skill.Saliency!.Rmu!.null, 'NullUniform');
  assert.ok(Math.abs(skill.Saliency!.Rmu!.skill! - 0.2) < 1e-12);
  assert.equal(skill.Saliency!.Pmu!.null, 'NullEdges');
  assert.ok(Math.abs(skill.Saliency!.Pmu!.skill! - 0.1) < 1e-12);
  assert.ok(skill.DeepLift!.Rmu!.skill! < 0); // worse than noise
  assert.equal(skill.DeepLift!.Pmu!.skill, null);
  assert.deepEqual(skillOverBestNull({ Saliency: methods.Saliency }), {});
  assert.ok(isNullExplainer('NullBlob') && !isNullExplainer('Nullish') && !isNullExplainer('Saliency'));
});
