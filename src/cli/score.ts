import type { Command } from 'commander';
import { UserError } from '../io/index.js';
import {
  createScoringPool, defaultWorkerCount, findNonFiniteSamples, formatSummaryTable, methodFiles, parseHeatmapArgument, presetSetting,
  readDatasetTruth, readHeatmapFile, readIdsFile, readLabelsFile, readTruthFile, resolveMetrics, scoreHeatmaps, tensorFilesAt,
  validateSetting, writeOutputs, type SampleLabels, type ScoringPool, type SampleScores, type ScoreSetting, type TruthBatch,
} from '../scoring/index.js';
import { createProgress } from './progress.js';

interface ScoreOptions {
  heatmaps: string[];
  truth?: string;
  truthTensor?: string;
  data?: string;
  split: string;
  tensor?: string;
  setting: string;
  start?: string;
  step?: string;
  steps?: string;
  clamp?: string;
  clampOrder: string;
  labels?: string;
  ids?: string;
  metrics: string;
  workers?: string;
  out: string;
  normalise: boolean;
  pandasIndex?: boolean;
  long: boolean;
}

/** `fiveband score`: five-band scores of anyone's heatmaps against banded ground truth. */
export function register(program: Command): void {
  program
    .command('score')
    .description('score heatmaps (.npy / .safetensors, n×C×H×W or n×H×W) against banded ground truth with the five-band score')
    .requiredOption('--heatmaps <paths...>', 'heatmap files or folders of shards, each [METHOD=]PATH (METHOD defaults to the file name)')
    .option('--truth <file>', 'ground truth: n×H×W floats 0/0.4/0.9 or integer bands 0/1/2 (.npy / .safetensors)')
    .option('--data <dir>', 'a fiveband dataset folder: ground truth, ids and true classes of --split')
    .option('--split <name>', 'dataset split (train, val, test)', 'test')
    .option('--truth-tensor <name>', 'tensor name in a safetensors ground-truth file')
    .option('--tensor <name>', 'tensor name in safetensors heatmap files')
    .option('--setting <name>', 'threshold sweep preset: v1, v1-clamp, v2, mab', 'v1')
    .option('--start <g0,g1,g2,g3>', 'custom start thresholds (overrides the preset; write --start=-0.5,-0.3,0.3,0.5)')
    .option('--step <d>', 'custom step towards 0 per threshold set')
    .option('--steps <n>', 'custom number of threshold sets')
    .option('--clamp <lo,hi>', 'clamp the attribution to [lo, hi] (write --clamp=-0.1,0.1)')
    .option('--clamp-order <order>', 'raw: clamp the raw attribution (reference code); paper: normalise, then clamp', 'raw')
    .option('--no-normalise', 'score the channel sum as is, without dividing by its max |value| (for maps already on the 0/0.4/0.9 scale, e.g. mab)')
    .option('--labels <file>', 'CSV with a y_pred column (and y0 unless the dataset gives it; optional id column)')
    .option('--ids <file>', 'sample ids, one per line (default: 0 … n-1)')
    .option('--metrics <list>', 'extra metrics: all, none, or a comma list of pointing_game, relevance_mass_accuracy, relevance_rank_accuracy, band_iou', 'all')
    .option('--workers <n>', 'worker threads (default: all cores)')
    .option('--out <dir>', 'output folder', 'scores')
    .option('--pandas-index', "write the reference's unnamed pandas index column first in <method>.csv")
    .option('--no-long', 'skip scores_long.csv (one row per sample × method × threshold set)')
    .action(async (options: ScoreOptions) => {
      await runScore(options);
    });
}

async function runScore(options: ScoreOptions): Promise<void> {
  const setting = settingFrom(options);
  const metrics = options.metrics === 'none' ? [] : resolveMetrics(options.metrics === 'all' ? 'all' : options.metrics.split(',').map((s) => s.trim()));
  const workers = options.workers === undefined ? defaultWorkerCount() : positiveInteger(options.workers, '--workers');
  const sources = options.heatmaps.map(parseHeatmapArgument);
  const seen = new Set<string>();
  for (const { method } of sources) {
    methodFiles(method);
    if (seen.has(method)) throw new UserError(`method "${method}" given twice; name them with METHOD=PATH`);
    seen.add(method);
  }

  const truth = await groundTruthFrom(options);
  const ids = options.ids ? await readIdsFile(options.ids) : truth.ids;
  if (ids.length !== truth.batch.n) throw new UserError(`${options.ids}: ${ids.length} ids for ${truth.batch.n} ground-truth maps`);
  const fileLabels = options.labels ? labelsFrom(options.labels, await readLabelsFile(options.labels), ids, truth.y0) : null;

  const methods: Array<{ method: string; scores: SampleScores[] }> = [];
  let stored: StoredLabels | null = null;
  const pool = workers > 1 ? createScoringPool(workers) : undefined;
  try {
    for (const { method, path } of sources) {
      const result = await scoreSource(method, path, truth.batch, ids, setting, metrics.map((m) => m.name), pool, options.tensor);
      methods.push({ method, scores: result.scores });
      if (methods.length === 1) stored = result.stored;
      else if (stored && JSON.stringify(result.stored) !== JSON.stringify(stored)) {
        process.stderr.write(`fiveband: note: the classes stored in ${method}'s heatmap files differ from ${methods[0]!.method}'s; not using them\n`);
        stored = null;
      }
    }
  } finally {
    await pool?.destroy();
  }
  // Without a labels file: true classes from the dataset, else from the heatmap files; predictions from the files.
  const labels = fileLabels ?? combineLabels(truth.y0 ?? stored?.labels ?? null, stored?.predicted ?? null, ids);
  const { paths, summary } = await writeOutputs(options.out, {
    setting, ids, labels, methods, metricColumns: metrics.flatMap((m) => m.columns),
  }, { pandasIndex: options.pandasIndex ?? false, long: options.long }).catch((err: NodeJS.ErrnoException) => {
    if (typeof err.code !== 'string') throw err;
    throw new UserError(`${options.out}: cannot write the outputs (${err.code}${err.path ? ` at ${err.path}` : ''})`);
  });
  process.stdout.write(`${formatSummaryTable(summary)}\n\nsetting ${setting.name} (${setting.steps} threshold sets); wrote:\n${paths.map((p) => `  ${p}`).join('\n')}\n`);
  for (const [method, s] of Object.entries(summary.methods)) {
    const degenerate = [...s.degenerate['all-zero'], ...s.degenerate.cancelled];
    if (degenerate.length > 0) {
      process.stderr.write(`fiveband: note: ${method}: ${degenerate.length} heatmap(s) with an all-zero channel sum scored as band 0 everywhere (ids: ${listIds(degenerate)})\n`);
    }
  }
}

/** True and predicted classes found in a method's heatmap files (all of them, or null). */
interface StoredLabels {
  labels: number[] | null;
  predicted: number[] | null;
}

/**
 * Scores one method's heatmaps file by file (one shard in memory at a time) against the matching truth maps.
 * Files that carry sample ids in their metadata (as `fiveband explain` writes) must match the ground truth's.
 */
async function scoreSource(
  method: string, path: string, truth: TruthBatch, ids: readonly string[], setting: ScoreSetting,
  metrics: string[], pool: ScoringPool | undefined, tensor: string | undefined,
): Promise<{ scores: SampleScores[]; stored: StoredLabels }> {
  const scores: SampleScores[] = [];
  const labels: Array<number[] | null> = [];
  const predicted: Array<number[] | null> = [];
  const progress = createProgress(`score ${method}`);
  const pixels = truth.height * truth.width;
  try {
    for (const file of await tensorFilesAt(path)) {
      const heatmaps = await readHeatmapFile(file, tensor);
      const first = scores.length;
      if (heatmaps.height !== truth.height || heatmaps.width !== truth.width) {
        throw new UserError(`${file}: heatmaps are ${heatmaps.height}×${heatmaps.width} but the ground truth is ${truth.height}×${truth.width}`);
      }
      if (first + heatmaps.n > truth.n) throw new UserError(`${path}: more heatmaps than the ${truth.n} ground-truth maps`);
      const k = heatmaps.info.ids?.findIndex((id, i) => id !== ids[first + i]) ?? -1;
      if (k >= 0) throw new UserError(`${file}: heatmap ${k} is sample "${heatmaps.info.ids![k]}" but ground-truth map ${first + k} is "${ids[first + k]}"`);
      const bad = findNonFiniteSamples(heatmaps);
      if (bad.length > 0) throw new UserError(`${file}: NaN or Inf values in ${bad.length} heatmap(s), ids: ${listIds(bad.map((i) => ids[first + i]!))}`);
      const bands = truth.bands.subarray(first * pixels, (first + heatmaps.n) * pixels);
      const part = await scoreHeatmaps(heatmaps, { bands, n: heatmaps.n, height: truth.height, width: truth.width }, {
        setting, metrics, pool, onProgress: (done) => progress.update(first + done, truth.n),
      });
      scores.push(...part);
      labels.push(heatmaps.info.labels);
      predicted.push(heatmaps.info.predicted);
    }
  } finally {
    progress.stop();
  }
  if (scores.length !== truth.n) throw new UserError(`${path}: ${scores.length} heatmaps but ${truth.n} ground-truth maps`);
  const all = (parts: Array<number[] | null>) => (parts.every((p) => p !== null) ? (parts as number[][]).flat() : null);
  return { scores, stored: { labels: all(labels), predicted: all(predicted) } };
}

/** Labels from known true and predicted classes (either may be missing); null when neither is known. */
function combineLabels(y0: number[] | null, yPred: number[] | null, ids: readonly string[]): SampleLabels[] | null {
  if (!y0 && !yPred) return null;
  return ids.map((_, i) => ({ y0: y0?.[i] ?? null, yPred: yPred?.[i] ?? null }));
}

interface GroundTruth {
  batch: TruthBatch;
  ids: string[];
  /** True classes, when the ground truth comes with them. */
  y0: number[] | null;
}

async function groundTruthFrom(options: ScoreOptions): Promise<GroundTruth> {
  if ((options.truth === undefined) === (options.data === undefined)) {
    throw new UserError('give the ground truth with either --truth FILE or --data DIR [--split test]');
  }
  if (options.data !== undefined) {
    const { truth, ids, y0 } = await readDatasetTruth(options.data, options.split);
    return { batch: truth, ids, y0 };
  }
  const batch = await readTruthFile(options.truth!, options.truthTensor);
  return { batch, ids: Array.from({ length: batch.n }, (_, i) => String(i)), y0: null };
}

function labelsFrom(
  path: string, file: { ids: string[] | null; y0: number[] | null; yPred: number[] }, ids: readonly string[], datasetY0: number[] | null,
): SampleLabels[] {
  if (file.yPred.length !== ids.length) throw new UserError(`${path}: ${file.yPred.length} label rows for ${ids.length} samples`);
  if (file.ids) {
    const k = file.ids.findIndex((id, i) => id !== ids[i]);
    if (k >= 0) throw new UserError(`${path}: row ${k + 2} has id "${file.ids[k]}" where sample ${k} is "${ids[k]}"`);
  }
  const y0 = file.y0 ?? datasetY0;
  if (!y0) throw new UserError(`${path}: labels file needs a y0 column (true class) when the ground truth has no labels`);
  if (file.y0 && datasetY0) {
    const k = file.y0.findIndex((y, i) => y !== datasetY0[i]);
    if (k >= 0) throw new UserError(`${path}: row ${k + 2} has y0 ${file.y0[k]} but the dataset labels sample "${ids[k]}" as ${datasetY0[k]}`);
  }
  return file.yPred.map((yPred, i) => ({ y0: y0[i]!, yPred }));
}

function settingFrom(options: ScoreOptions): ScoreSetting {
  const preset = presetSetting(options.setting);
  if (options.clampOrder !== 'raw' && options.clampOrder !== 'paper') throw new UserError(`--clamp-order must be raw or paper, not "${options.clampOrder}"`);
  const custom = options.start !== undefined || options.step !== undefined || options.steps !== undefined || options.clamp !== undefined || options.clampOrder !== 'raw' || !options.normalise;
  let adjustment = preset.adjustment;
  if (options.clamp !== undefined) {
    const [lo, hi] = numberList(options.clamp, '--clamp', 2);
    adjustment = { kind: 'clamp-raw', lo: lo!, hi: hi! };
  }
  if (options.clampOrder === 'paper') {
    if (adjustment.kind !== 'clamp-raw') throw new UserError('--clamp-order paper needs a clamp (--clamp or --setting v1-clamp)');
    adjustment = { ...adjustment, kind: 'clamp-normalised' };
  }
  if (!options.normalise) {
    if (adjustment.kind !== 'sum') throw new UserError('--no-normalise cannot be combined with a clamp');
    adjustment = { kind: 'sum-unnormalised' };
  }
  return validateSetting({
    name: custom ? `${preset.name}-custom` : preset.name,
    start: options.start !== undefined ? (numberList(options.start, '--start', 4) as unknown as ScoreSetting['start']) : preset.start,
    step: options.step !== undefined ? numberList(options.step, '--step', 1)[0]! : preset.step,
    steps: options.steps !== undefined ? positiveInteger(options.steps, '--steps') : preset.steps,
    adjustment,
  });
}

function numberList(text: string, option: string, count: number): number[] {
  const values = text.split(',').map((s) => Number(s.trim()));
  if (values.length !== count || !values.every(Number.isFinite) || text.trim() === '') {
    throw new UserError(`${option} needs ${count} comma-separated number${count > 1 ? 's' : ''}, not "${text}"`);
  }
  return values;
}

function positiveInteger(text: string, option: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new UserError(`${option} needs a positive integer, not "${text}"`);
  return value;
}

function listIds(ids: readonly string[]): string {
  return ids.length <= 10 ? ids.join(', ') : `${ids.slice(0, 10).join(', ')} and ${ids.length - 10} more`;
}
