import { archName, modelLabel, sortArchs, type ModelInfo, type RunFolder, type SampleRow, type ScoreSet } from '../run.js';
import { describeColumns, type MeanStat } from '../stats.js';

/** Architectures trained in branches mode (figs 3, 4, 6–8 and table I). */
export const CLASSIFIERS = ['resnet34', 'alexnet', 'vgg16'];

/** A group of score sets shown as one panel: an architecture's models, or a whole score folder. */
export interface Panel {
  /** Architecture id, or 'scores' for a score folder. */
  arch: string;
  title: string;
  sets: ScoreSet[];
}

/**
 * The panels of a recall/precision figure for `preset`: per classifier its branch models (its base model
 * when it has no branches with scores). A score folder is one panel of its own setting, shown whatever the
 * setting when `scoreFolder` is 'any', else only when it is `preset`.
 */
export function classifierPanels(run: RunFolder, preset: string, scoreFolder: 'any' | 'same' = 'any'): Panel[] {
  if (run.kind === 'scores') {
    const set = run.scoreSets[0]!;
    if (scoreFolder === 'same' && set.preset !== preset) return [];
    return [{ arch: 'scores', title: `scores (setting ${set.preset})`, sets: [set] }];
  }
  const panels: Panel[] = [];
  const archs = sortArchs(run.scoreSets.map((s) => s.model.arch)).filter((a) => CLASSIFIERS.includes(a));
  for (const arch of archs) {
    const all = run.sets(preset, (m) => m.arch === arch);
    const branches = all.filter((s) => s.model.role === 'branch');
    const sets = branches.length > 0 ? branches : all.filter((s) => s.model.role === 'base');
    if (sets.length > 0) panels.push({ arch, title: archName(arch), sets });
  }
  return panels;
}

/** The first model of an architecture whose attributions are wanted in galleries: its first branch, else base. */
export function galleryModel(run: RunFolder, arch: string): ModelInfo | null {
  const models = run.models.filter((m) => m.arch === arch);
  return models.find((m) => m.role === 'branch') ?? models.find((m) => m.role === 'base') ?? models.find((m) => m.role === 'mab') ?? null;
}

/** Statistics of a method's per-sample scores on one score set. */
export interface MethodStats {
  set: ScoreSet;
  method: string;
  rows: SampleRow[];
  Rmu: MeanStat;
  Pmu: MeanStat;
  Ru: MeanStat;
  Pu: MeanStat;
}

const statsCache = new WeakMap<RunFolder, Map<string, Promise<MethodStats | null>>>();

/** Means, standard deviations and bootstrap intervals of R and P (mean and best) of a method on a set; cached per run. */
export function methodStats(run: RunFolder, set: ScoreSet, method: string): Promise<MethodStats | null> {
  let cache = statsCache.get(run);
  if (!cache) statsCache.set(run, (cache = new Map()));
  const key = `${set.dir}\n${method}`;
  let p = cache.get(key);
  if (!p) {
    p = (async () => {
      const rows = await run.samples(set, method);
      if (!rows || rows.length === 0) return null;
      const column = (name: 'Rmu' | 'Pmu' | 'Ru' | 'Pu') => Float64Array.from(rows, (r) => r[name]);
      const stats = describeColumns({ Rmu: column('Rmu'), Pmu: column('Pmu'), Ru: column('Ru'), Pu: column('Pu') }, [set.key, set.preset, method]);
      return { set, method, rows, Rmu: stats.Rmu!, Pmu: stats.Pmu!, Ru: stats.Ru!, Pu: stats.Pu! };
    })();
    cache.set(key, p);
  }
  return p;
}

/** Mean of numbers (plain; for averaging a few per-model means). */
export function meanOf(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((s, v) => s + v, 0) / values.length;
}

/** A number as shown in tables: 3 decimals (or "–" when missing). */
/** A model's name with its architecture ("alexnet branch 1", "spa"), for the checks' tables and panels. */
export function archModelLabel(model: ModelInfo): string {
  const label = modelLabel(model);
  return label.startsWith(model.arch) ? label : `${model.arch} ${label}`;
}

export function fmt(value: number | null | undefined, digits = 3): string {
  return value === null || value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

/** Rounds for data.json where a value is only shown (keeps the file short; 6 significant digits). */
export function round6(value: number): number {
  return Number.isFinite(value) ? Number(value.toPrecision(6)) : value;
}
