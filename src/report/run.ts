import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { openDataset, type Dataset, type Shard } from '../data/index.js';
import { UserError } from '../io/index.js';
import { GROUND_TRUTH_METHOD, isNullExplainer, parseCsv } from '../scoring/index.js';

/** The run manifest the study writes (`study.json`); every field is optional to the report. */
export interface StudyManifest {
  format: string;
  config: Record<string, unknown>;
  version?: string;
  machine?: { cores?: number; cpu?: string };
  startedAt?: string;
  sessions?: Array<{ workers?: number; queue?: string }>;
  tasks?: Record<string, StudyTask>;
  models?: StudyModel[];
}

export interface StudyTask {
  kind?: string;
  wallSeconds?: number;
  finishedAt?: string;
  outputs?: Record<string, string>;
  attempts?: number;
  /** The queue worker (`host:pid`) that ran it; absent for the local scheduler. */
  worker?: string;
}

export interface TrainSettings {
  mode?: string;
  epochs?: number;
  branchEpochs?: number;
  batchSize?: number;
  lr?: number;
  limit?: number;
  refresh?: number;
  inputSize?: number;
  width?: number;
  [key: string]: unknown;
}

export interface StudyModel {
  key: string;
  arch?: string;
  role?: string;
  branch?: number;
  depth?: number;
  dir?: string;
  trainSettings?: TrainSettings;
}

export type ModelRole = 'branch' | 'base' | 'mab' | 'depth' | 'other';

/** A model of the run, from study.json or inferred from its key. */
export interface ModelInfo {
  key: string;
  arch: string;
  role: ModelRole;
  branch: number | null;
  depth: number | null;
  trainSettings: TrainSettings | null;
}

/** One `fiveband score` output folder: a model's scores under one preset (or the whole score folder). */
export interface ScoreSet {
  /** Model key, or '' for a standalone score folder. */
  key: string;
  model: ModelInfo;
  preset: string;
  dir: string;
  methods: string[];
  summary: ScoreSummary;
}

/** The parts of a score folder's summary.json that the report reads. */
export interface ScoreSummary {
  setting: { name: string; thresholds?: number[][] };
  n: number;
  methods: Record<string, { per_sample_file?: string; roc_file?: string; n?: number }>;
}

/** One row of `<method>.csv`. */
export interface SampleRow {
  id: string;
  y0: number | null;
  yPred: number | null;
  correct: number | null;
  Rmu: number; Ru: number; Pmu: number; Pu: number; Amu: number; Au: number;
}

export interface RocRow {
  index: number;
  recall: number;
  fpr: number;
}

export interface EvalResult {
  accuracy: number;
  correct?: number;
  total?: number;
  confusion?: number[][];
}

/** The header of one model's attributions of one method on one dataset shard (n×C×H×W float32 in `path`). */
export interface AttributionShard {
  path: string;
  /** Byte offset of the tensor's data in the file. */
  dataStart: number;
  n: number;
  channels: number;
  height: number;
  width: number;
  ids: string[];
  labels: number[];
  predicted: number[];
}

/** Architecture order of the paper's figures (ResNet, AlexNet, VGG), then the rest. */
export const ARCH_ORDER = ['resnet34', 'alexnet', 'vgg16', 'spa', 'alexnet-depth'];
const ARCH_NAMES: Record<string, string> = {
  resnet34: 'ResNet34', alexnet: 'AlexNet', vgg16: 'VGG16', spa: 'SPA (mabCAM)', 'alexnet-depth': 'AlexNet + k blocks',
};

/** The display name of an architecture. */
export function archName(arch: string): string {
  return ARCH_NAMES[arch] ?? arch;
}

/** Sorts architectures in the paper's order (unknown ones last, alphabetically). */
export function sortArchs(archs: Iterable<string>): string[] {
  const rank = (a: string) => (ARCH_ORDER.includes(a) ? ARCH_ORDER.indexOf(a) : ARCH_ORDER.length);
  return [...new Set(archs)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** The paper's methods in its order. */
export const METHOD_ORDER = [
  'Saliency', 'IntegratedGradients', 'InputXGradient', 'DeepLift', 'GuidedBackprop', 'GuidedGradCam', 'Deconvolution',
  'GradientShap', 'DeepLiftShap',
];
/** Methods in the paper's order, then others, then mab, then the reference maps (null explainers, the ground truth). */
export function sortMethods(methods: Iterable<string>): string[] {
  const rank = (m: string) => (m === GROUND_TRUTH_METHOD ? METHOD_ORDER.length + 3 : isNullExplainer(m) ? METHOD_ORDER.length + 2
    : m === 'mab' ? METHOD_ORDER.length + 1 : METHOD_ORDER.includes(m) ? METHOD_ORDER.indexOf(m) : METHOD_ORDER.length);
  return [...new Set(methods)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Model info from a key alone: `<arch>/base`, `<arch>/branch-<b>`, `spa`, `alexnet-depth/k<k>`. */
export function inferModel(key: string): ModelInfo {
  const base = { key, trainSettings: null, branch: null, depth: null };
  let m = /^([^/]+)\/branch-(\d+)$/.exec(key);
  if (m) return { ...base, arch: m[1]!, role: 'branch', branch: Number(m[2]) };
  m = /^([^/]+)\/base$/.exec(key);
  if (m) return { ...base, arch: m[1]!, role: 'base' };
  m = /^alexnet-depth\/k(\d+)$/.exec(key);
  if (m) return { ...base, arch: 'alexnet-depth', role: 'depth', depth: Number(m[1]) };
  if (key === 'spa') return { ...base, arch: 'spa', role: 'mab' };
  return { ...base, arch: key.split('/')[0] || key, role: 'other' };
}

/** A short label of a model inside its architecture: "branch 1", "base", "k 4". */
export function modelLabel(model: ModelInfo): string {
  if (model.role === 'branch') return `branch ${model.branch}`;
  if (model.role === 'depth') return `k ${model.depth}`;
  if (model.role === 'base') return 'base';
  return model.key || 'scores';
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** A text file's contents; null when it does not exist, a UserError naming it when it cannot be read. */
async function readOptionalText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new UserError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}

/** Reads and parses a JSON file; a missing file is null, a corrupt one a UserError naming it. */
export async function readJson<T>(path: string): Promise<T | null> {
  const text = await readOptionalText(path);
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new UserError(`${path}: corrupt JSON (${(err as Error).message})`);
  }
}

/** A CSV file as header → column values (strings); null when the file does not exist. */
export async function readCsvColumns(path: string): Promise<{ header: string[]; rows: string[][] } | null> {
  const text = await readOptionalText(path);
  if (text === null) return null;
  const [header, ...rows] = parseCsv(text);
  if (!header) throw new UserError(`${path}: empty CSV`);
  return { header, rows };
}

function numberOrNull(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  const v = Number(text);
  return Number.isFinite(v) ? v : null;
}

/** A numeric table from a CSV (empty cells are null). */
export async function readNumericCsv(path: string): Promise<{ header: string[]; rows: Array<Array<number | null>> } | null> {
  const csv = await readCsvColumns(path);
  if (!csv) return null;
  return { header: csv.header, rows: csv.rows.map((r) => csv.header.map((_, j) => numberOrNull(r[j]))) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseScoreSummary(value: unknown, path: string): ScoreSummary {
  if (!isRecord(value) || !isRecord(value.setting) || !isRecord(value.methods) || typeof (value.setting as Record<string, unknown>).name !== 'string') {
    throw new UserError(`${path}: not a fiveband score summary (needs setting.name and methods)`);
  }
  return value as unknown as ScoreSummary;
}

/**
 * A run folder as the report sees it: a study run (study.json, dataset/, models/, eval/, explain/) or a
 * `fiveband score` output folder (summary.json + CSVs). Files are read on demand and kept.
 */
/** A sanity.json as the report reads it (the fields of attribution's SanityResult it uses). */
export interface SanityReport {
  samples: number;
  layers: string[];
  trained: Record<string, { Rmu: number | null; Pmu: number | null; preset: string }>;
  steps: Array<{ method: string; mode: 'cascading' | 'independent' | 'random-labels'; layers: number; layer: string; spearman_abs: number | null; spearman_signed: number | null; ssim_abs: number | null; Rmu: number | null; Pmu: number | null }>;
  insensitive: string[];
}

/** A conditioning.json as the report reads it (attribution's ConditioningResult). */
export interface ConditioningReport {
  samples: number;
  tolerance: number;
  rows: Array<{
    method: string; perturbation: 'one-ulp' | 'batch-1'; preset: string; samples: number; map_rel_l2_median: number; map_rel_l2_max: number;
    rmu_change_max: number; pmu_change_max: number; rmu_moved: number; pmu_moved: number;
  }>;
  dominated: string[];
}

export class RunFolder {
  private readonly cache = new Map<string, Promise<unknown>>();

  private constructor(
    readonly dir: string,
    readonly kind: 'study' | 'scores',
    readonly study: StudyManifest | null,
    readonly models: ModelInfo[],
    readonly scoreSets: ScoreSet[],
  ) {}

  /** Opens `dir`; a missing folder, or one that is neither a study run nor a score folder, is a UserError. */
  static async open(dir: string): Promise<RunFolder> {
    if (!(await isDirectory(dir))) throw new UserError(`${dir}: no such folder`);
    const study = await readJson<unknown>(join(dir, 'study.json'));
    if (study !== null) {
      if (!isRecord(study) || typeof study.format !== 'string' || !study.format.startsWith('fiveband-study') || !isRecord(study.config)) {
        throw new UserError(`${join(dir, 'study.json')}: not a fiveband study manifest (needs format "fiveband-study/…" and config)`);
      }
      const manifest = study as unknown as StudyManifest;
      const models = new Map<string, ModelInfo>();
      for (const entry of Array.isArray(manifest.models) ? manifest.models : []) {
        if (!isRecord(entry) || typeof entry.key !== 'string') continue;
        const inferred = inferModel(entry.key);
        const role = (['branch', 'base', 'mab', 'depth'] as const).find((r) => r === entry.role) ?? inferred.role;
        models.set(entry.key, {
          key: entry.key,
          arch: typeof entry.arch === 'string' ? entry.arch : inferred.arch,
          role,
          branch: typeof entry.branch === 'number' ? entry.branch : inferred.branch,
          depth: typeof entry.depth === 'number' ? entry.depth : inferred.depth,
          trainSettings: isRecord(entry.trainSettings) ? entry.trainSettings as TrainSettings : null,
        });
      }
      for (const key of await findModelFolders(dir)) if (!models.has(key)) models.set(key, inferModel(key));
      const sets = await findScoreSets(dir, models);
      for (const set of sets) if (!models.has(set.key)) models.set(set.key, set.model);
      const ordered = [...models.values()].sort(compareModels);
      return new RunFolder(dir, 'study', manifest, ordered, sets.map((s) => ({ ...s, model: models.get(s.key)! })));
    }
    const summary = await readJson<unknown>(join(dir, 'summary.json'));
    if (summary === null) {
      throw new UserError(`${dir}: not a fiveband run folder (no study.json) nor a score folder (no summary.json)`);
    }
    const parsed = parseScoreSummary(summary, join(dir, 'summary.json'));
    const model: ModelInfo = { key: '', arch: 'scores', role: 'other', branch: null, depth: null, trainSettings: null };
    const set: ScoreSet = { key: '', model, preset: parsed.setting.name, dir, methods: sortMethods(Object.keys(parsed.methods)), summary: parsed };
    return new RunFolder(dir, 'scores', null, [], [set]);
  }

  private memo<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.cache.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      this.cache.set(key, p);
    }
    return p;
  }

  /** The study config (empty for a score folder). */
  get config(): Record<string, unknown> {
    return this.study?.config ?? {};
  }

  /** Score sets of `preset` for models matching `filter`. */
  sets(preset: string, filter: (m: ModelInfo) => boolean = () => true): ScoreSet[] {
    return this.scoreSets.filter((s) => s.preset === preset && filter(s.model));
  }

  /** Per-sample scores of a method (its `<method>.csv`), or null when the file is missing. */
  samples(set: ScoreSet, method: string): Promise<SampleRow[] | null> {
    return this.memo(`samples:${set.dir}:${method}`, async () => {
      const file = set.summary.methods[method]?.per_sample_file ?? `${method}.csv`;
      const path = join(set.dir, file);
      const csv = await readCsvColumns(path);
      if (!csv) return null;
      const col = (name: string) => csv.header.indexOf(name);
      const need = ['id', 'Rmu', 'Ru', 'Pmu', 'Pu'];
      for (const name of need) if (col(name) < 0) throw new UserError(`${path}: no ${name} column`);
      const at = (r: string[], name: string) => (col(name) < 0 ? null : numberOrNull(r[col(name)]));
      return csv.rows.map((r) => {
        const row: SampleRow = {
          id: r[col('id')] ?? '', y0: at(r, 'y0'), yPred: at(r, 'y_pred'), correct: at(r, 'pred_is_correct'),
          Rmu: at(r, 'Rmu') ?? NaN, Ru: at(r, 'Ru') ?? NaN, Pmu: at(r, 'Pmu') ?? NaN, Pu: at(r, 'Pu') ?? NaN,
          Amu: at(r, 'Amu') ?? NaN, Au: at(r, 'Au') ?? NaN,
        };
        if (![row.Rmu, row.Ru, row.Pmu, row.Pu].every(Number.isFinite)) throw new UserError(`${path}: sample ${row.id} has a missing or non-numeric score`);
        return row;
      });
    });
  }

  /** The ROC points of a method (`roc_<method>.csv`), or null. */
  roc(set: ScoreSet, method: string): Promise<RocRow[] | null> {
    return this.memo(`roc:${set.dir}:${method}`, async () => {
      const path = join(set.dir, set.summary.methods[method]?.roc_file ?? `roc_${method}.csv`);
      const csv = await readNumericCsv(path);
      if (!csv) return null;
      const [i, r, f] = ['threshold_index', 'mean_recall', 'mean_FPR'].map((c) => csv.header.indexOf(c));
      if (r! < 0 || f! < 0) throw new UserError(`${path}: needs mean_recall and mean_FPR columns`);
      return csv.rows.map((row, k) => ({ index: i! >= 0 ? row[i!] ?? k : k, recall: row[r!] ?? NaN, fpr: row[f!] ?? NaN }))
        .filter((p) => Number.isFinite(p.recall) && Number.isFinite(p.fpr));
    });
  }

  /** The test evaluation of a model (`eval/<key>.json`), or null. */
  evalOf(key: string): Promise<EvalResult | null> {
    return this.memo(`eval:${key}`, async () => {
      const path = join(this.dir, 'eval', ...key.split('/')) + '.json';
      const value = await readJson<unknown>(path);
      if (value === null) return null;
      if (!isRecord(value) || typeof value.accuracy !== 'number') throw new UserError(`${path}: no accuracy`);
      return value as unknown as EvalResult;
    });
  }

  /** A model folder's JSON file (summary.json, arch.json), or null. */
  modelJson(key: string, file: string): Promise<Record<string, unknown> | null> {
    return this.memo(`model-json:${key}:${file}`, async () => {
      const value = await readJson<unknown>(join(this.dir, 'models', ...key.split('/'), file));
      return isRecord(value) ? value : null;
    });
  }

  /** A model folder's CSV (curves.csv, validation.csv) as numbers, or null. */
  modelCsv(key: string, file: string): ReturnType<typeof readNumericCsv> {
    return this.memo(`model-csv:${key}:${file}`, () => readNumericCsv(join(this.dir, 'models', ...key.split('/'), file)));
  }

  /** The run's dataset (`dataset/`), or null when absent. */
  dataset(): Promise<Dataset | null> {
    return this.memo('dataset', async () => {
      if (this.kind !== 'study' || !(await exists(join(this.dir, 'dataset', 'manifest.json')))) return null;
      return openDataset(join(this.dir, 'dataset'));
    });
  }

  /** Test shard `index` of the dataset (checked against its manifest), or null. */
  testShard(index: number): Promise<Shard | null> {
    return this.memo(`shard:${index}`, async () => {
      const dataset = await this.dataset();
      if (!dataset || !dataset.shards.test[index]) return null;
      return dataset.readShard('test', index);
    });
  }

  /**
   * The header of the attributions of `method` for the model `key` on test shard `shard` (shape, ids, true and
   * predicted classes), or null when not written. Only the header is read: shards of large images hold
   * hundreds of megabytes, and galleries need a few samples (see attributionMap).
   */
  attributions(key: string, method: string, shard = 0): Promise<AttributionShard | null> {
    return this.memo(`attr:${key}:${method}:${shard}`, async () => {
      const path = join(this.dir, 'explain', ...key.split('/'), 'attributions', method, `shard-${String(shard).padStart(4, '0')}.safetensors`);
      if (!(await exists(path))) return null;
      return readAttributionHeader(path);
    });
  }

  /** The C×H×W float32 attribution of sample `index` of an attribution shard (read from its file). */
  async attributionMap(shard: AttributionShard, index: number): Promise<Float32Array> {
    const count = shard.channels * shard.height * shard.width;
    const bytes = Buffer.alloc(count * 4);
    const handle = await open(shard.path, 'r').catch((err: NodeJS.ErrnoException) => {
      throw new UserError(`${shard.path}: cannot read (${err.code ?? String(err)})`);
    });
    try {
      const { bytesRead } = await handle.read(bytes, 0, bytes.length, shard.dataStart + index * bytes.length);
      if (bytesRead !== bytes.length) throw new UserError(`${shard.path}: truncated`);
    } finally {
      await handle.close();
    }
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(4 * i);
    return out;
  }

  /** The sanity checks of model `key` (`sanity/<key>/sanity.json`, written by the study's sanity task), or null. */
  sanityOf(key: string): Promise<SanityReport | null> {
    return this.memo(`sanity:${key}`, async () => {
      const path = join(this.dir, 'sanity', ...key.split('/'), 'sanity.json');
      const value = await readJson<unknown>(path);
      if (value === null) return null;
      if (!isRecord(value) || value.format !== 'fiveband-sanity/1' || !Array.isArray(value.steps) || !isRecord(value.trained)) {
        throw new UserError(`${path}: not a fiveband sanity result (format "fiveband-sanity/1" with steps and trained)`);
      }
      return value as unknown as SanityReport;
    });
  }

  /** The conditioning of model `key` (`conditioning/<key>/conditioning.json`), or null. */
  conditioningOf(key: string): Promise<ConditioningReport | null> {
    return this.memo(`conditioning:${key}`, async () => {
      const path = join(this.dir, 'conditioning', ...key.split('/'), 'conditioning.json');
      const value = await readJson<unknown>(path);
      if (value === null) return null;
      if (!isRecord(value) || value.format !== 'fiveband-conditioning/1' || !Array.isArray(value.rows) || !Array.isArray(value.dominated)) {
        throw new UserError(`${path}: not a fiveband conditioning result (format "fiveband-conditioning/1" with rows and dominated)`);
      }
      return value as unknown as ConditioningReport;
    });
  }

  /** Whether a file exists inside the run folder. */
  has(...parts: string[]): Promise<boolean> {
    return exists(join(this.dir, ...parts));
  }
}

function compareModels(a: ModelInfo, b: ModelInfo): number {
  const archs = sortArchs([a.arch, b.arch]);
  if (a.arch !== b.arch) return archs.indexOf(a.arch) - archs.indexOf(b.arch);
  const roleRank = { base: 0, branch: 1, mab: 2, depth: 3, other: 4 };
  return roleRank[a.role] - roleRank[b.role] || (a.branch ?? 0) - (b.branch ?? 0) || (a.depth ?? 0) - (b.depth ?? 0) || a.key.localeCompare(b.key);
}

/** Keys of the model folders under `models/` (folders holding arch.json or curves.csv). */
async function findModelFolders(dir: string): Promise<string[]> {
  const root = join(dir, 'models');
  const keys: string[] = [];
  const walk = async (folder: string, depth: number): Promise<void> => {
    if (depth > 3) return;
    const entries = await readdir(folder, { withFileTypes: true }).catch(() => []);
    const files = new Set(entries.filter((e) => e.isFile()).map((e) => e.name));
    if (depth > 0 && ['arch.json', 'curves.csv'].some((f) => files.has(f))) keys.push(relative(root, folder).split(sep).join('/'));
    for (const e of entries.filter((e) => e.isDirectory()).map((e) => e.name).sort()) await walk(join(folder, e), depth + 1);
  };
  await walk(root, 0);
  return keys;
}

/** Every `explain/<key>/scores/<preset>/summary.json` of a study run. */
async function findScoreSets(dir: string, models: Map<string, ModelInfo>): Promise<ScoreSet[]> {
  const root = join(dir, 'explain');
  if (!(await isDirectory(root))) return [];
  const found: ScoreSet[] = [];
  const walk = async (folder: string, depth: number): Promise<void> => {
    if (depth > 6) return;
    const entries = (await readdir(folder, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort();
    for (const name of entries) {
      const path = join(folder, name);
      if (name === 'scores') {
        const key = relative(root, folder).split(sep).join('/');
        for (const preset of (await readdir(path, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name).sort()) {
          const summaryPath = join(path, preset, 'summary.json');
          const summary = await readJson<unknown>(summaryPath);
          if (summary === null) continue;
          const parsed = parseScoreSummary(summary, summaryPath);
          const model = models.get(key) ?? inferModel(key);
          found.push({ key, model, preset, dir: join(path, preset), methods: sortMethods(Object.keys(parsed.methods)), summary: parsed });
        }
      } else if (name !== 'attributions') {
        await walk(path, depth + 1);
      }
    }
  };
  await walk(root, 0);
  return found;
}

/** Reads a safetensors attribution file's header (tensor "attributions", F32 n×C×H×W, and the ids/labels/predicted metadata). */
async function readAttributionHeader(path: string): Promise<AttributionShard> {
  const fail = (why: string): never => {
    throw new UserError(`${path}: ${why}`);
  };
  const handle = await open(path, 'r').catch((err: NodeJS.ErrnoException) => fail(`cannot read (${err.code ?? String(err)})`));
  try {
    const size = (await handle.stat()).size;
    const prefix = Buffer.alloc(8);
    await handle.read(prefix, 0, 8, 0);
    const headerLength = Number(prefix.readBigUInt64LE(0));
    if (size < 8 || headerLength > size - 8 || headerLength > 64 * 1024 * 1024) fail('not a valid safetensors file (truncated header)');
    const text = Buffer.alloc(headerLength);
    await handle.read(text, 0, headerLength, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(text.toString('utf8')) as Record<string, unknown>;
    } catch {
      return fail('not a valid safetensors file (header is not JSON)');
    }
    const tensor = header.attributions as { dtype?: unknown; shape?: unknown; data_offsets?: unknown } | undefined;
    if (!tensor || tensor.dtype !== 'F32' || !Array.isArray(tensor.shape) || tensor.shape.length !== 4 || !Array.isArray(tensor.data_offsets)) {
      fail('no float32 n×C×H×W "attributions" tensor');
    }
    const [n, channels, height, width] = (tensor!.shape as number[]).map(Number) as [number, number, number, number];
    const [begin, end] = (tensor!.data_offsets as number[]).map(Number) as [number, number];
    const dataStart = 8 + headerLength + begin;
    if (end - begin !== n * channels * height * width * 4 || 8 + headerLength + end > size) fail('attributions tensor does not match its shape (truncated?)');
    const metadata = (isRecord(header.__metadata__) ? header.__metadata__ : {}) as Record<string, unknown>;
    const list = (name: string): unknown[] => {
      try {
        const v = JSON.parse(typeof metadata[name] === 'string' ? metadata[name] as string : '[]') as unknown;
        return Array.isArray(v) ? v : [];
      } catch {
        return fail(`metadata ${name} is not JSON`);
      }
    };
    const ids = list('ids').map(String);
    const labels = list('labels').map(Number);
    const predicted = list('predicted').map(Number);
    if (ids.length !== n || labels.length !== n || predicted.length !== n) fail(`metadata ids/labels/predicted do not match its ${n} samples`);
    return { path, dataStart, n, channels, height, width, ids, labels, predicted };
  } finally {
    await handle.close();
  }
}
