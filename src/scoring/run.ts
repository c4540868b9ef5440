import { openDataset, resizeBands, SPLITS, type Split } from '../data/index.js';
import { UserError } from '../io/index.js';
import { toTruthBands } from './bands.js';
import { createScoringPool, scoreStream, type ScoringPool } from './batch.js';
import type { SampleLabels } from './aggregate.js';
import type { SampleScores } from './fiveband.js';
import { openHeatmapFile, openTruthFile, readIdsFile, readLabelsFile, tensorFilesAt } from './inputs.js';
import { resolveMetrics, type Metric } from './metrics/index.js';
import { methodFiles, writeOutputs, type ScoreSummaryFile } from './outputs.js';
import type { ScoreSetting } from './settings.js';

/** One method's heatmaps: a file, a folder of shards (read in file-name order), or the files in order. */
export type HeatmapSource = { method: string } & ({ path: string } | { files: readonly string[] });

/**
 * The ground truth, matched to the heatmaps by position: a file (n×H×W floats 0 / 0.4 / 0.9 or integer bands
 * 0 / 1 / 2), or a fiveband dataset split (its bands, ids and true classes; optionally only its first `limit`
 * samples). A dataset's ground truth is resized to square heatmaps of another size as training and `explain`
 * resize images (anti-aliased bilinear on 0 / 0.4 / 0.9, re-banded at ±0.3 / ±0.7, spec §3.1).
 */
export type TruthSource = { file: string; tensor?: string } | { dataDir: string; split: string; limit?: number };

export interface RunScoreOptions {
  heatmaps: readonly HeatmapSource[];
  truth: TruthSource;
  /** Output folder; every file is written only after everything was read and scored. */
  out: string;
  setting: ScoreSetting;
  /** Extra metrics: 'all' (default) or names; [] for none. */
  metrics?: 'all' | readonly string[];
  /** Worker threads (default 1); results do not depend on it. */
  workers?: number;
  /** Tensor name in safetensors heatmap files (default: the only one, else heatmaps / attributions). */
  tensor?: string;
  /** Sample ids, one per line (default: the dataset's ids, or 0 … n−1). */
  idsFile?: string;
  /** CSV with y_pred (and y0 unless the dataset gives it; optional id). Default: classes the heatmap files carry. */
  labelsFile?: string;
  /** Seed of the bootstrap intervals in statistics.json (default 0). */
  seed?: number;
  pandasIndex?: boolean;
  /** Write scores_long.csv (default true). */
  long?: boolean;
  /** Samples of `method` scored so far, of `total`. */
  onProgress?: (method: string, done: number, total: number) => void;
  /** Notes for the user (e.g. stored classes that disagree between methods), one line each. */
  onNote?: (note: string) => void;
}

export interface RunScoreResult {
  paths: string[];
  summary: ScoreSummaryFile;
  setting: ScoreSetting;
  /** Per method with degenerate heatmaps (all-zero or cancelled channel sums, scored as band 0): their ids. */
  degenerate: Array<{ method: string; ids: string[] }>;
}

/**
 * Scores heatmaps against banded ground truth and writes the scoring stage's outputs (per-method V1 CSVs, ROC
 * CSVs, the long CSV, metrics.csv, summary.json) into `out` — what `fiveband score` does, and how `explain`
 * scores its attributions. Each method's files are read one at a time and matched to the ground truth by
 * position; files that carry sample ids in their metadata (as `explain` writes) must match the ground truth's.
 * Without a labels file, true classes come from the dataset (else from the files) and predictions from the
 * files' metadata. Input errors are UserErrors; nothing is written unless everything was scored.
 */
export async function runScore(options: RunScoreOptions): Promise<RunScoreResult> {
  const metrics = resolveMetrics(options.metrics ?? 'all');
  const workers = Math.max(1, Math.floor(options.workers ?? 1));
  const seen = new Set<string>();
  for (const { method } of options.heatmaps) {
    methodFiles(method);
    if (seen.has(method)) throw new UserError(`method "${method}" given twice; name them with METHOD=PATH`);
    seen.add(method);
  }

  const truth = await openTruth(options.truth);
  try {
    return await scoreAgainst(truth, options, metrics, workers);
  } finally {
    await truth.close();
  }
}

async function scoreAgainst(truth: OpenTruth, options: RunScoreOptions, metrics: Metric[], workers: number): Promise<RunScoreResult> {
  const { setting } = options;
  const ids = options.idsFile ? await readIdsFile(options.idsFile) : truth.ids;
  if (ids.length !== truth.n) throw new UserError(`${options.idsFile}: ${ids.length} ids for ${truth.n} ground-truth maps`);
  const fileLabels = options.labelsFile ? labelsFrom(options.labelsFile, await readLabelsFile(options.labelsFile), ids, truth.y0) : null;

  const methods: Array<{ method: string; scores: SampleScores[] }> = [];
  let stored: StoredLabels | null = null;
  const pool = workers > 1 ? createScoringPool(workers) : undefined;
  try {
    for (const source of options.heatmaps) {
      const files = 'files' in source ? [...source.files] : await tensorFilesAt(source.path);
      const name = 'files' in source ? source.method : source.path;
      const result = await scoreSource(source.method, name, files, truth, ids, setting, metrics.map((m) => m.name), pool, options);
      methods.push({ method: source.method, scores: result.scores });
      if (methods.length === 1) stored = result.stored;
      else if (stored && JSON.stringify(result.stored) !== JSON.stringify(stored)) {
        options.onNote?.(`the classes stored in ${source.method}'s heatmap files differ from ${methods[0]!.method}'s; not using them`);
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
  }, { pandasIndex: options.pandasIndex ?? false, long: options.long ?? true, seed: options.seed ?? 0 }).catch((err: NodeJS.ErrnoException) => {
    if (typeof err.code !== 'string') throw err;
    throw new UserError(`${options.out}: cannot write the outputs (${err.code}${err.path ? ` at ${err.path}` : ''})`);
  });
  return { paths, summary, setting, degenerate: degenerateOf(summary) };
}

/** Per method of a summary, the ids of its degenerate heatmaps (methods without any are left out). */
export function degenerateOf(summary: ScoreSummaryFile): Array<{ method: string; ids: string[] }> {
  return Object.entries(summary.methods)
    .map(([method, s]) => ({ method, ids: [...s.degenerate['all-zero'], ...s.degenerate.cancelled] }))
    .filter((d) => d.ids.length > 0);
}

/** The note `fiveband score` and `explain` print for a method's degenerate heatmaps. */
export function degenerateNote(method: string, ids: readonly string[]): string {
  return `${method}: ${ids.length} heatmap(s) with an all-zero channel sum scored as band 0 everywhere (ids: ${listIds(ids)})`;
}

/** Up to 10 ids, then how many more. */
export function listIds(ids: readonly string[]): string {
  return ids.length <= 10 ? ids.join(', ') : `${ids.slice(0, 10).join(', ')} and ${ids.length - 10} more`;
}

/** Ground truth that hands out band maps for sample ranges at the heatmaps' size. */
interface OpenTruth {
  n: number;
  ids: string[];
  /** True classes, when the ground truth comes with them. */
  y0: number[] | null;
  /** Throws a UserError naming `file` when heatmaps of height × width cannot be matched to this ground truth. */
  checkSize(height: number, width: number, file: string): void;
  /** Bands (−2…2) of samples first … first+count−1 at height × width (checked with checkSize), valid until the next call. */
  bands(first: number, count: number, height: number, width: number): Promise<Int8Array>;
  close(): Promise<void>;
}

async function openTruth(source: TruthSource): Promise<OpenTruth> {
  if ('file' in source) {
    // Read in pieces as the heatmaps are, so memory does not grow with the number of maps.
    const file = await openTruthFile(source.file, source.tensor);
    return {
      n: file.n, ids: Array.from({ length: file.n }, (_, i) => String(i)), y0: null,
      checkSize: (height, width, name) => checkSize(name, height, width, file),
      bands: (first, count) => file.bands(first, count),
      close: () => file.close(),
    };
  }
  const { dataDir, split } = source;
  if (!(SPLITS as readonly string[]).includes(split)) throw new UserError(`unknown split "${split}" (known: ${SPLITS.join(', ')})`);
  const dataset = await openDataset(dataDir);
  const refs = dataset.shards[split as Split];
  const n = Math.min(refs.reduce((sum, ref) => sum + ref.samples, 0), source.limit ?? Infinity);
  if (n === 0) throw new UserError(`${dataDir}: split ${split} has no samples`);
  const size = dataset.size;
  const pixels = size * size;
  const all = new Int8Array(n * pixels);
  const ids: string[] = [];
  const y0: number[] = [];
  for (const ref of refs) {
    if (ids.length >= n) break;
    const shard = await dataset.readShard(split as Split, ref.index);
    const take = Math.min(shard.n, n - ids.length);
    all.set(toTruthBands(shard.bands.subarray(0, take * pixels), ref.path), ids.length * pixels);
    ids.push(...shard.ids.slice(0, take));
    y0.push(...Array.from(shard.labels.subarray(0, take)));
  }
  const resized = new Map<string, Int8Array>();
  return {
    n, ids, y0,
    // Square heatmaps of another size (a model run on resized images) get the ground truth resized alike.
    checkSize: (height, width, file) => {
      if (height !== width) checkSize(file, height, width, { height: size, width: size });
    },
    close: async () => {},
    bands: async (first, count, height) => {
      const part = all.subarray(first * pixels, (first + count) * pixels);
      if (height === size) return part;
      const key = `${first}:${count}:${height}`;
      let bands = resized.get(key);
      if (!bands) {
        bands = toTruthBands(resizeBands(new Uint8Array(part.buffer, part.byteOffset, part.length), count, size, height));
        resized.set(key, bands);
      }
      return bands;
    },
  };
}

function checkSize(file: string, height: number, width: number, truth: { height: number; width: number }): void {
  if (height !== truth.height || width !== truth.width) {
    throw new UserError(`${file}: heatmaps are ${height}×${width} but the ground truth is ${truth.height}×${truth.width}`);
  }
}

/** True and predicted classes found in a method's heatmap files (all of them, or null). */
interface StoredLabels {
  labels: number[] | null;
  predicted: number[] | null;
}

/**
 * Scores one method's heatmaps file by file, each streamed through the scorer in input order (memory stays flat
 * however many heatmaps a file holds), against the matching truth maps.
 */
async function scoreSource(
  method: string, name: string, files: readonly string[], truth: OpenTruth, ids: readonly string[], setting: ScoreSetting,
  metrics: string[], pool: ScoringPool | undefined, options: RunScoreOptions,
): Promise<{ scores: SampleScores[]; stored: StoredLabels }> {
  const scores: SampleScores[] = [];
  const labels: Array<number[] | null> = [];
  const predicted: Array<number[] | null> = [];
  for (const file of files) {
    const heatmaps = await openHeatmapFile(file, options.tensor);
    try {
      const first = scores.length;
      const { n, height, width } = heatmaps;
      truth.checkSize(height, width, file);
      if (first + n > truth.n) throw new UserError(`${name}: more heatmaps than the ${truth.n} ground-truth maps`);
      const k = heatmaps.info.ids?.findIndex((id, i) => id !== ids[first + i]) ?? -1;
      if (k >= 0) throw new UserError(`${file}: heatmap ${k} is sample "${heatmaps.info.ids![k]}" but ground-truth map ${first + k} is "${ids[first + k]}"`);
      const part = await scoreStream({
        ...heatmaps, read: (f, c, into) => heatmaps.read(f, c, into), truth: (f, c) => truth.bands(first + f, c, height, width),
      }, { setting, metrics, pool, onProgress: (done) => options.onProgress?.(method, first + done, truth.n) });
      if (part.nonFinite.length > 0) {
        throw new UserError(`${file}: NaN or Inf values in ${part.nonFinite.length} heatmap(s), ids: ${listIds(part.nonFinite.map((i) => ids[first + i]!))}`);
      }
      scores.push(...part.scores);
      labels.push(heatmaps.info.labels);
      predicted.push(heatmaps.info.predicted);
    } finally {
      await heatmaps.close();
    }
  }
  if (scores.length !== truth.n) throw new UserError(`${name}: ${scores.length} heatmaps but ${truth.n} ground-truth maps`);
  const all = (parts: Array<number[] | null>) => (parts.every((p) => p !== null) ? (parts as number[][]).flat() : null);
  return { scores, stored: { labels: all(labels), predicted: all(predicted) } };
}

/** Labels from known true and predicted classes (either may be missing); null when neither is known. */
function combineLabels(y0: number[] | null, yPred: number[] | null, ids: readonly string[]): SampleLabels[] | null {
  if (!y0 && !yPred) return null;
  return ids.map((_, i) => ({ y0: y0?.[i] ?? null, yPred: yPred?.[i] ?? null }));
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
