import type { Degeneracy } from './adjust.js';
import type { SampleScores } from './fiveband.js';
import { argmax, npMean, npStd } from './numpy.js';

/** Per-sample aggregate over the sweep (spec §3.6): mu = mean, u = best, u1 = index of the first best. */
export interface SampleSummary {
  Amu: number; Au: number; Au1: number;
  Rmu: number; Ru: number; Ru1: number;
  Pmu: number; Pu: number; Pu1: number;
}

export function summariseSample(scores: SampleScores): SampleSummary {
  const { A, R, P } = scores;
  return {
    Amu: npMean(A), Au: A[argmax(A)]!, Au1: argmax(A),
    Rmu: npMean(R), Ru: R[argmax(R)]!, Ru1: argmax(R),
    Pmu: npMean(P), Pu: P[argmax(P)]!, Pu1: argmax(P),
  };
}

/** True and predicted class of a sample, when known. */
export interface SampleLabels {
  y0: number | null;
  yPred: number | null;
}

/** ROC points of one method: per threshold set, mean recall and mean FPR over all samples. */
export function rocPoints(samples: readonly SampleScores[]): { recall: Float64Array; fpr: Float64Array } {
  const steps = samples[0]?.A.length ?? 0;
  const recall = new Float64Array(steps);
  const fpr = new Float64Array(steps);
  for (let m = 0; m < steps; m++) {
    recall[m] = npMean(samples.map((s) => s.R[m]!));
    fpr[m] = npMean(samples.map((s) => s.FPR[m]!));
  }
  return { recall, fpr };
}

/** Means and population standard deviations of the per-sample values of one group of samples. */
export interface GroupStatistics {
  n: number;
  mean: Record<string, number | null>;
  std: Record<string, number | null>;
  /** For columns that can be undefined (extra metrics): how many samples had a value. */
  defined: Record<string, number>;
}

export interface MethodSummary {
  method: string;
  n: number;
  /** Heatmaps whose channel adjustment was degenerate, scored as all band 0 (ids listed). */
  degenerate: Record<Exclude<Degeneracy, 'none'>, string[]>;
  /**
   * The §3.7 filters: all samples; only correct predictions; excluding class 9 (the empty cell type, whose
   * ground truth is all 0 so R = P = 0 by construction); both. Filters needing labels are null without them.
   */
  groups: {
    all: GroupStatistics;
    correct: GroupStatistics | null;
    excluding_class_9: GroupStatistics | null;
    correct_excluding_class_9: GroupStatistics | null;
  };
}

export const SUMMARY_COLUMNS = ['Amu', 'Au', 'Rmu', 'Ru', 'Pmu', 'Pu'] as const;

export function summariseMethod(
  method: string, ids: readonly string[], samples: readonly SampleScores[], summaries: readonly SampleSummary[],
  labels: readonly SampleLabels[] | null, metricColumns: readonly string[],
): MethodSummary {
  const degenerate: MethodSummary['degenerate'] = { 'all-zero': [], cancelled: [] };
  samples.forEach((s, i) => {
    if (s.degeneracy !== 'none') degenerate[s.degeneracy].push(ids[i]!);
  });
  const groups = sampleGroups(labels, samples.length);
  const of = (indices: number[] | null) => (indices === null ? null : statistics(indices, samples, summaries, metricColumns));
  return {
    method,
    n: samples.length,
    degenerate,
    groups: {
      all: statistics(groups.all, samples, summaries, metricColumns),
      correct: of(groups.correct),
      excluding_class_9: of(groups.excluding_class_9),
      correct_excluding_class_9: of(groups.correct_excluding_class_9),
    },
  };
}

export type GroupName = keyof MethodSummary['groups'];

/** The samples (indices) of each §3.7 filter; filters that need labels the run lacks are null. */
export function sampleGroups(labels: readonly SampleLabels[] | null, n: number): { all: number[] } & Record<Exclude<GroupName, 'all'>, number[] | null> {
  const all = Array.from({ length: n }, (_, i) => i);
  const hasLabels = labels !== null && labels.every((l) => l.y0 !== null && l.yPred !== null);
  const hasTrue = labels !== null && labels.every((l) => l.y0 !== null);
  const keep = (test: (l: SampleLabels) => boolean) => all.filter((i) => test(labels![i]!));
  return {
    all,
    correct: hasLabels ? keep((l) => l.y0 === l.yPred) : null,
    excluding_class_9: hasTrue ? keep((l) => l.y0 !== 9) : null,
    correct_excluding_class_9: hasLabels ? keep((l) => l.y0 === l.yPred && l.y0 !== 9) : null,
  };
}

function statistics(
  indices: readonly number[], samples: readonly SampleScores[], summaries: readonly SampleSummary[],
  metricColumns: readonly string[],
): GroupStatistics {
  const stats: GroupStatistics = { n: indices.length, mean: {}, std: {}, defined: {} };
  const put = (column: string, values: number[]) => {
    stats.mean[column] = values.length > 0 ? npMean(values) : null;
    stats.std[column] = values.length > 0 ? npStd(values) : null;
  };
  for (const column of SUMMARY_COLUMNS) put(column, indices.map((i) => summaries[i]![column]));
  for (const column of metricColumns) {
    const values = indices.map((i) => samples[i]!.metrics[column]).filter((v): v is number => v !== null && v !== undefined);
    put(column, values);
    stats.defined[column] = values.length;
  }
  return stats;
}

/**
 * Null explainers (chance levels: noise, an edge detector, a centre blob; fiveband's `nulls`) are the methods
 * named Null…, by convention, so scores of anyone's heatmaps can carry them too.
 */
export function isNullExplainer(method: string): boolean {
  return /^Null[A-Z]/.test(method);
}

/** The method name of the ground truth scored as a heatmap: the ceiling beside the chance levels. */
export const GROUND_TRUTH_METHOD = 'GroundTruth';

/** A reference map (a null explainer or the ground truth) rather than an explanation method: left out of the paper's claims. */
export function isReferenceMap(method: string): boolean {
  return isNullExplainer(method) || method === GROUND_TRUTH_METHOD;
}

/** A real method's mean minus the best null explainer's, for one column (over all samples). */
export interface SkillOverNull {
  skill: number | null;
  /** The null explainer with the highest mean in this column. */
  null: string;
}

/**
 * For every real method, per summary column (higher is better for each), its mean minus the highest mean of any
 * null explainer: what the method adds over chance. Empty without null explainers in the run.
 */
export function skillOverBestNull(methods: Readonly<Record<string, MethodSummary>>): Record<string, Record<string, SkillOverNull>> {
  const nulls = Object.keys(methods).filter(isNullExplainer);
  const result: Record<string, Record<string, SkillOverNull>> = {};
  if (nulls.length === 0) return result;
  for (const [method, summary] of Object.entries(methods)) {
    if (isNullExplainer(method)) continue;
    result[method] = {};
    for (const column of SUMMARY_COLUMNS) {
      let best = nulls[0]!;
      for (const name of nulls) if ((methods[name]!.groups.all.mean[column] ?? -Infinity) > (methods[best]!.groups.all.mean[column] ?? -Infinity)) best = name;
      const mine = summary.groups.all.mean[column];
      const theirs = methods[best]!.groups.all.mean[column];
      result[method]![column] = { skill: mine === null || mine === undefined || theirs === null || theirs === undefined ? null : mine - theirs, null: best };
    }
  }
  return result;
}
