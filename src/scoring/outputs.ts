import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { lockFolder, makeFolder, openAtomicFile, UserError, type AtomicFile } from '../io/index.js';
import {
  rocPoints, sampleGroups, skillOverBestNull, summariseMethod, summariseSample, SUMMARY_COLUMNS, type MethodSummary, type SampleLabels,
  type SkillOverNull,
} from './aggregate.js';
import { compareMethods, type MethodValues } from './statistics.js';
import { csvField, csvFloat, csvLine } from './csv.js';
import { EPS, type SampleScores } from './fiveband.js';
import { GROUND_TRUTH_THRESHOLDS, thresholdSweep, type ScoreSetting } from './settings.js';

/** Everything one scoring run produced: per method, the scores of samples 0 … n−1 (same order as `ids`). */
export interface ScoreRun {
  setting: ScoreSetting;
  ids: readonly string[];
  /** Per sample true/predicted class, or null when no labels were given. */
  labels: readonly SampleLabels[] | null;
  methods: ReadonlyArray<{ method: string; scores: readonly SampleScores[] }>;
  metricColumns: readonly string[];
}

export interface OutputOptions {
  /** Write the reference's unnamed pandas index column (0, 1, …) first in the V1 per-sample CSVs. */
  pandasIndex?: boolean;
  /** Write the long per-threshold CSV (one row per sample × method × threshold set); default true. */
  long?: boolean;
  /** Seed of the bootstrap intervals in statistics.json (default 0). */
  seed?: number;
}

/** The summary.json content: the run's setting and, per method, the MethodSummary. */
export interface ScoreSummaryFile {
  setting: ScoreSetting & { thresholds: number[][] };
  ground_truth_thresholds: readonly number[];
  eps: number;
  channel_sum: 'float64';
  n: number;
  labels: boolean;
  metric_columns: readonly string[];
  files: Record<string, string>;
  methods: Record<string, MethodSummary & { roc_file: string; per_sample_file: string; skill_over_best_null?: Record<string, SkillOverNull> }>;
}

const METHOD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;

/** File names written for a method (checked to be safe as file names). */
export function methodFiles(method: string): { perSample: string; roc: string } {
  if (!METHOD_NAME.test(method)) throw new UserError(`method name "${method}" must be letters, digits and _ . + - only`);
  // A method's files must not be the run's fixed files, or another method's ROC file.
  if (['metrics', 'scores_long'].includes(method.toLowerCase()) || /^roc_/i.test(method)) {
    throw new UserError(`method name "${method}" would overwrite ${method.toLowerCase().startsWith('roc_') ? `the ROC file of method "${method.slice(4)}"` : `${method}.csv`}; name it with METHOD=PATH`);
  }
  return { perSample: `${method}.csv`, roc: `roc_${method}.csv` };
}

/**
 * Renders the output files of a run as pieces, in the order they are complete: per method `<method>.csv`
 * (the reference V1 columns) and `roc_<method>.csv`, the rows of `scores_long.csv` and `metrics.csv` sample by
 * sample, and `summary.json` last. Yields [file name, text]; the summary is complete once the generator is done.
 */
function* renderOutputs(run: ScoreRun, options: OutputOptions, summary: ScoreSummaryFile): Generator<[string, string]> {
  const thresholds = thresholdSweep(run.setting);
  const T = run.setting.steps;
  const long = options.long ?? true;
  const labelOf = (i: number) => run.labels?.[i] ?? { y0: null, yPred: null };
  // The reference writes int(pred_is_correct): 1 or 0.
  const correctOf = (l: SampleLabels) => (l.y0 === null || l.yPred === null ? null : l.y0 === l.yPred ? 1 : 0);
  const thresholdText = Array.from(thresholds, csvFloat);

  const v1Header = ['id', 'y0', 'y_pred', 'pred_is_correct', 'Amu', 'Au', 'Au1', 'Rmu', 'Ru', 'Ru1', 'Pmu', 'Pu', 'Pu1'];
  if (long) {
    yield ['scores_long.csv', csvLine(['id', 'y0', 'y_pred', 'pred_is_correct', 'xai_method', 'threshold_index', 'g0', 'g1', 'g2', 'g3',
      'pixel_acc', 'recall', 'precision', 'FPR', 'TP', 'FP', 'TN', 'FN'])];
  }
  if (run.metricColumns.length > 0) yield ['metrics.csv', csvLine(['id', 'y0', 'y_pred', 'xai_method', 'degeneracy', 'best_threshold_index', ...run.metricColumns])];

  const statisticsColumns = [...SUMMARY_COLUMNS, ...run.metricColumns];
  const perSample: MethodValues[] = [];
  for (const { method, scores } of run.methods) {
    if (scores.length !== run.ids.length) throw new Error(`${method}: ${scores.length} scores for ${run.ids.length} ids`);
    const names = methodFiles(method);
    const summaries = scores.map(summariseSample);
    perSample.push({
      method,
      values: Object.fromEntries(statisticsColumns.map((c) => [c, scores.map((s, i) => ((SUMMARY_COLUMNS as readonly string[]).includes(c) ? summaries[i]![c as keyof typeof summaries[number]] : s.metrics[c] ?? null))])),
    });
    const rows = [csvLine(options.pandasIndex ? ['', ...v1Header] : v1Header)];
    for (let i = 0; i < scores.length; i++) {
      const s = scores[i]!;
      const l = labelOf(i);
      const q = summaries[i]!;
      const fields = [
        csvField(run.ids[i]!), csvField(l.y0), csvField(l.yPred), csvField(correctOf(l)),
        csvFloat(q.Amu), csvFloat(q.Au), String(q.Au1), csvFloat(q.Rmu), csvFloat(q.Ru), String(q.Ru1),
        csvFloat(q.Pmu), csvFloat(q.Pu), String(q.Pu1),
      ];
      rows.push(csvLine(options.pandasIndex ? [String(i), ...fields] : fields));
      if (long) {
        const prefix = `${fields.slice(0, 4).join(',')},${csvField(method)}`;
        const c = s.counts;
        const lines: string[] = [];
        for (let m = 0; m < T; m++) {
          lines.push(`${prefix},${m},${thresholdText[4 * m]},${thresholdText[4 * m + 1]},${thresholdText[4 * m + 2]},` +
            `${thresholdText[4 * m + 3]},${csvFloat(s.A[m]!)},${csvFloat(s.R[m]!)},${csvFloat(s.P[m]!)},${csvFloat(s.FPR[m]!)},` +
            `${c[4 * m]},${c[4 * m + 1]},${c[4 * m + 2]},${c[4 * m + 3]}\n`);
        }
        yield ['scores_long.csv', lines.join('')];
      }
      if (run.metricColumns.length > 0) {
        let best = 0;
        for (let m = 1; m < T; m++) if (s.A[m]! > s.A[best]!) best = m;
        yield ['metrics.csv', csvLine([csvField(run.ids[i]!), csvField(l.y0), csvField(l.yPred), csvField(method), s.degeneracy, String(best),
          ...run.metricColumns.map((column) => csvFloat(s.metrics[column] ?? null))])];
      }
    }
    yield [names.perSample, rows.join('')];

    const roc = rocPoints(scores);
    const rocRows = [csvLine(['threshold_index', 'g0', 'g1', 'g2', 'g3', 'mean_recall', 'mean_FPR'])];
    for (let m = 0; m < T; m++) {
      rocRows.push(csvLine([String(m), ...thresholdText.slice(4 * m, 4 * m + 4), csvFloat(roc.recall[m]!), csvFloat(roc.fpr[m]!)]));
    }
    yield [names.roc, rocRows.join('')];
    summary.methods[method] = {
      ...summariseMethod(method, run.ids, scores, summaries, run.labels, run.metricColumns),
      per_sample_file: names.perSample,
      roc_file: names.roc,
    };
  }
  for (const [method, skill] of Object.entries(skillOverBestNull(summary.methods))) summary.methods[method]!.skill_over_best_null = skill;
  if (long) summary.files.long = 'scores_long.csv';
  if (run.metricColumns.length > 0) summary.files.metrics = 'metrics.csv';
  const statistics = compareMethods(perSample, sampleGroups(run.labels, run.ids.length), statisticsColumns, { seed: options.seed ?? 0 });
  yield ['statistics.json', `${compactJson(statistics)}\n`];
  summary.files.statistics = 'statistics.json';
  summary.files.summary = 'summary.json';
  yield ['summary.json', `${compactJson(summary)}\n`];
}

/**
 * Writes every output file of a run into `dir`, streamed (the long CSV is never held in memory whole): each file
 * goes to a temporary file, and only when all are rendered are they renamed into place, summary.json last. The
 * folder is locked while it is written (one writer per folder).
 * A failure leaves no temporary file behind. Returns the paths written and the summary.
 */
export async function writeOutputs(dir: string, run: ScoreRun, options: OutputOptions = {}): Promise<{ paths: string[]; summary: ScoreSummaryFile }> {
  const thresholds = thresholdSweep(run.setting);
  const T = run.setting.steps;
  const summary: ScoreSummaryFile = {
    setting: { ...run.setting, thresholds: Array.from({ length: T }, (_, m) => Array.from(thresholds.subarray(4 * m, 4 * m + 4))) },
    ground_truth_thresholds: GROUND_TRUTH_THRESHOLDS,
    eps: EPS,
    channel_sum: 'float64',
    n: run.ids.length,
    labels: run.labels !== null,
    metric_columns: run.metricColumns,
    files: {},
    methods: {},
  };
  await makeFolder(dir);
  const release = await lockFolder(dir); // two scorers writing into one folder would mix their files
  const files = new Map<string, AtomicFile>();
  try {
    for (const [name, text] of renderOutputs(run, options, summary)) {
      let file = files.get(name);
      if (!file) {
        file = await openAtomicFile(join(dir, name));
        files.set(name, file);
      }
      await file.write(text);
    }
    // Nothing is renamed while a target cannot be replaced (e.g. a folder of that name), so no partial set lands.
    for (const name of files.keys()) {
      const existing = await stat(join(dir, name)).catch(() => null);
      if (existing && !existing.isFile()) throw new UserError(`${join(dir, name)}: exists and is not a file; nothing was written`);
    }
    // Every file on disk first (a full disk fails here, before any rename), then the renames; summary.json was
    // opened last, so it is renamed last: a folder with a summary has every file.
    for (const file of files.values()) await file.prepare();
    for (const file of files.values()) await file.commit();
  } catch (err) {
    await Promise.all([...files.values()].map((f) => f.abort()));
    throw err;
  } finally {
    await release();
  }
  const order = [...run.methods.flatMap(({ method }) => Object.values(methodFiles(method))), 'scores_long.csv', 'metrics.csv', 'statistics.json', 'summary.json'];
  return { paths: order.filter((name) => files.has(name)).map((name) => join(dir, name)), summary };
}

/**
 * A plain-text table of the per-method means (± population std) over all samples; with null explainers in the
 * run, also each real method's Rmu and Pmu minus the best null's (`Rmu-null`, `Pmu-null`).
 */
export function formatSummaryTable(summary: ScoreSummaryFile): string {
  const columns = [...SUMMARY_COLUMNS, ...summary.metric_columns.filter((c) => c.endsWith('_b2'))];
  const withNulls = Object.values(summary.methods).some((s) => s.skill_over_best_null);
  const skillColumns = withNulls ? ['Rmu', 'Pmu'] : [];
  const header = ['method', 'n', ...columns, ...skillColumns.map((c) => `${c}-null`), 'degenerate'];
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
  const rows = Object.entries(summary.methods).map(([method, s]) => [
    method, String(s.n),
    ...columns.map((c) => {
      const mean = s.groups.all.mean[c];
      const std = s.groups.all.std[c];
      return mean === null || mean === undefined ? '-' : `${mean.toFixed(3)}±${(std ?? 0).toFixed(3)}`;
    }),
    ...skillColumns.map((c) => {
      const skill = s.skill_over_best_null?.[c]?.skill;
      return skill === null || skill === undefined ? '-' : signed(skill);
    }),
    String(s.degenerate['all-zero'].length + s.degenerate.cancelled.length),
  ]);
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k]!.length)));
  return [header, ...rows].map((r) => r.map((cell, k) => cell.padEnd(widths[k]!)).join('  ').trimEnd()).join('\n');
}

/** JSON with two-space indentation, but arrays of plain values (thresholds, id lists) kept on one line. */
function compactJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/\[\n\s+([^[\]{}]*?)\n\s*\]/g, (_, inner: string) => `[${inner.split(/,\n\s+/).join(', ')}]`);
}
