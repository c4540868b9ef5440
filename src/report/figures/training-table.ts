import type { Cell, FigureDef } from '../figure.js';
import { archName, modelLabel, sortArchs, type ModelInfo, type RunFolder, type TrainSettings } from '../run.js';
import { fmt, meanOf } from './common.js';

/** Training settings of a model: study.json's, else its (or its base model's) summary.json hyper-parameters. */
async function settingsOf(run: RunFolder, model: ModelInfo): Promise<TrainSettings | null> {
  if (model.trainSettings) return model.trainSettings;
  const keys = model.role === 'branch' ? [model.key, `${model.arch}/base`] : [model.key];
  for (const key of keys) {
    const summary = await run.modelJson(key, 'summary.json');
    const hyper = summary?.hyper as Record<string, unknown> | undefined;
    if (hyper && typeof hyper === 'object') {
      const num = (k: string) => (typeof hyper[k] === 'number' ? hyper[k] as number : undefined);
      return {
        mode: model.role === 'branch' ? 'branches' : typeof summary!.mode === 'string' ? summary!.mode as string : undefined,
        epochs: num('epochs'), branchEpochs: num('branchEpochs'), batchSize: num('batchSize'), lr: num('lr'),
        limit: num('limit'), refresh: num('refresh'), inputSize: num('inputSize'), width: num('width'),
      };
    }
  }
  return null;
}

/** Seconds of the study's tasks that wrote into the given model folders (training time), or null. */
export function wallSecondsOf(run: RunFolder, keys: readonly string[]): number | null {
  const tasks = Object.values(run.study?.tasks ?? {});
  let total = 0;
  let found = false;
  for (const task of tasks) {
    const outputs = Object.keys(task.outputs ?? {});
    if (outputs.some((p) => keys.some((k) => p.startsWith(`models/${k}/`))) && typeof task.wallSeconds === 'number') {
      total += task.wallSeconds;
      found = true;
    }
  }
  return found ? total : null;
}

/** "1 h 02 min", "3 min 05 s", "12.3 s". */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

interface Row {
  arch: string;
  models: string[];
  /** The models whose training tasks the row's wall time sums: a branch row's base and branches. */
  trainedIn: string[];
  settings: TrainSettings | null;
  baseEpochs: number | null;
  accuracies: Array<{ model: string; accuracy: number | null }>;
  mean: number | null;
}

/** Table I: per architecture the training settings, each model's test accuracy, their mean and the wall time. */
export const table1: FigureDef = {
  id: 'table1',
  title: 'Table I — training settings and test accuracy',
  needs: 'a study run with models (study.json models, models/<key>/, eval/<key>.json)',
  async build(run) {
    if (run.kind !== 'study' || run.models.length === 0) return null;
    const rows: Row[] = [];
    for (const arch of sortArchs(run.models.map((m) => m.arch))) {
      const models = run.models.filter((m) => m.arch === arch);
      // Branches are the table's models; a base model only when there are none; each depth is a row of its own.
      const groups: ModelInfo[][] = arch === 'alexnet-depth'
        ? models.map((m) => [m])
        : [models.some((m) => m.role === 'branch') ? models.filter((m) => m.role === 'branch') : models];
      for (const group of groups) {
        const accuracies = await Promise.all(group.map(async (m) => ({ model: m.key, accuracy: (await run.evalOf(m.key))?.accuracy ?? null })));
        const known = accuracies.map((a) => a.accuracy).filter((a): a is number => a !== null);
        const base = models.find((m) => m.role === 'base');
        const baseSettings = base ? await settingsOf(run, base) : null;
        // Branches continue from the base model, so their training time includes the base's.
        const trainedIn = group.some((m) => m.role === 'branch') && base ? [base, ...group] : group;
        rows.push({
          arch: arch === 'alexnet-depth' && group[0]!.depth !== null ? `${archName(arch)} (k ${group[0]!.depth})` : archName(arch),
          models: group.map((m) => m.key),
          trainedIn: trainedIn.map((m) => m.key),
          settings: await settingsOf(run, group[0]!),
          baseEpochs: baseSettings?.epochs ?? null,
          accuracies,
          mean: known.length ? meanOf(known) : null,
        });
      }
    }
    if (rows.every((r) => r.settings === null && r.accuracies.every((a) => a.accuracy === null))) return null;
    const num = (v: number | undefined | null): Cell => (v === undefined || v === null ? null : v);
    const tableRows: Cell[][] = rows.map((r) => {
      const s = r.settings ?? {};
      const wallSeconds = wallSecondsOf(run, r.trainedIn);
      const branchMode = s.mode === 'branches' || r.models.some((k) => /\/branch-\d+$/.test(k));
      return [
        r.arch,
        s.mode ?? null,
        num(s.inputSize),
        s.width === undefined ? null : { text: String(s.width), sort: s.width },
        num(s.batchSize),
        s.lr === undefined ? null : { text: String(s.lr), sort: s.lr },
        num(branchMode ? r.baseEpochs ?? s.epochs : s.epochs),
        num(branchMode ? s.branchEpochs : undefined),
        num(branchMode ? s.limit : undefined),
        num(branchMode ? s.refresh : undefined),
        r.accuracies.map((a) => `${modelLabel(run.models.find((m) => m.key === a.model)!)}: ${fmt(a.accuracy)}`).join(', '),
        r.mean === null ? null : { text: fmt(r.mean), sort: r.mean, className: r.mean < 0.9 ? 'weak' : '' },
        { text: formatDuration(wallSeconds), sort: wallSeconds ?? -1 },
      ];
    });
    return {
      caption: 'How to read it: per architecture the settings of training (mode: continuous "TC" for the base model, then regular-evaluation '
        + 'branches "TR" with early stopping limit n_l and refresh fraction r_f; mab for SPA), the test accuracy of each model and their mean ⟨Acc.⟩. '
        + 'A mean below 0.90 is marked: the heatmaps of a weak model are scored too, but say less. Wall time: the study\'s training tasks for these models, '
        + 'the base model\'s included for branches (not in data.json).',
      data: rows.map((r) => ({ arch: r.arch, models: r.models, settings: r.settings, baseEpochs: r.baseEpochs, accuracies: r.accuracies, mean: r.mean })),
      blocks: [{
        kind: 'table', id: 'table1-table', sortable: true,
        columns: ['architecture', 'mode', 'H = W', 'width', 'n_batch', 'lr', 'TC n_ep', 'TR n_ep', 'n_l', 'r_f', 'test accuracy per model', '⟨Acc.⟩', 'training wall time'],
        rows: tableRows,
      }],
    };
  },
};
