import type { Block, FigureDef } from '../figure.js';
import { archName, modelLabel, sortArchs } from '../run.js';
import { downsample } from '../stats.js';
import { round6 } from './common.js';

const MAX_POINTS = 300;

type Point = Record<string, number | null>;

/** Columns of a model's curves.csv as points, downsampled to at most MAX_POINTS by bucket means. */
function columns(csv: { header: string[]; rows: Array<Array<number | null>> }, names: string[]): Point[] {
  const at = names.map((n) => csv.header.indexOf(n));
  const points = csv.rows.map((r) => Object.fromEntries(names.map((n, j) => [n, at[j]! >= 0 ? r[at[j]!] ?? null : null])) as Point);
  return downsample(points, MAX_POINTS).map((p) => Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v === null ? null : round6(v)])) as Point);
}

/** Training curves: loss and validation accuracy against iterations, per architecture and model. */
export const curves: FigureDef = {
  id: 'curves',
  title: 'Training curves — loss and validation accuracy',
  needs: 'curves.csv of the trained models (models/<key>/curves.csv)',
  async build(run) {
    if (run.kind !== 'study') return null;
    const blocks: Block[] = [];
    const data: Record<string, unknown> = {};
    for (const arch of sortArchs(run.models.map((m) => m.arch))) {
      const loss: Array<Record<string, string | number | null>> = [];
      const accuracy: Array<Record<string, string | number | null>> = [];
      let accuracyX = 'iteration';
      for (const model of run.models.filter((m) => m.arch === arch)) {
        const csv = await run.modelCsv(model.key, 'curves.csv');
        const label = modelLabel(model);
        if (csv) {
          if (csv.header.includes('average_loss')) {
            for (const p of columns(csv, ['iteration', 'average_loss'])) loss.push({ model: label, term: 'loss', iteration: p.iteration!, loss: p.average_loss! });
          } else if (csv.header.includes('loss')) {
            const terms = ['loss', 'ce_loss', 'mab_loss'].filter((t) => csv.header.includes(t));
            for (const p of columns(csv, ['iteration', ...terms])) for (const t of terms) loss.push({ model: `${label} ${t}`, term: t, iteration: p.iteration!, loss: p[t]! });
          }
          if (csv.header.includes('validation_accuracy')) {
            for (const p of columns(csv, ['iteration', 'validation_accuracy'])) if (p.validation_accuracy !== null) accuracy.push({ model: label, iteration: p.iteration!, accuracy: p.validation_accuracy });
          }
        }
        const validation = await run.modelCsv(model.key, 'validation.csv');
        if (validation && validation.header.includes('epoch')) {
          accuracyX = 'epoch';
          for (const p of columns(validation, ['epoch', 'validation_accuracy'])) accuracy.push({ model: label, epoch: p.epoch!, accuracy: p.validation_accuracy });
        }
      }
      if (loss.length === 0 && accuracy.length === 0) continue;
      const charts: unknown[] = [];
      if (loss.length > 0) {
        charts.push({
          title: 'training loss', width: 300, height: 200, data: { values: loss }, mark: { type: 'line', strokeWidth: 1.2 },
          encoding: {
            x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
            y: { field: 'loss', type: 'quantitative', title: 'loss (averaged as written by training)' },
            color: { field: 'model', type: 'nominal', title: 'model' },
          },
        });
      }
      if (accuracy.length > 0) {
        charts.push({
          title: accuracyX === 'epoch' ? 'validation accuracy after each epoch' : 'validation accuracy (one random validation shard)',
          width: 300, height: 200, data: { values: accuracy }, mark: { type: 'line', point: accuracyX === 'epoch', strokeWidth: 1.2 },
          encoding: {
            x: { field: accuracyX, type: 'quantitative', title: accuracyX },
            y: { field: 'accuracy', type: 'quantitative', title: 'validation accuracy', scale: { domain: [0, 1] } },
            color: { field: 'model', type: 'nominal', title: 'model' },
          },
        });
      }
      blocks.push({ kind: 'chart', name: `curves-${arch}`, spec: { title: archName(arch), hconcat: charts, resolve: { scale: { color: 'independent' } } } as never, alt: `training curves of ${archName(arch)}` });
      data[arch] = { loss, accuracy, accuracyAxis: accuracyX };
    }
    if (blocks.length === 0) return null;
    return {
      caption: 'How to read it: per architecture the training loss against iterations (base model: averaged over every 4 iterations; branches continue the base '
        + 'model\'s iteration count; SPA: its joint loss and the cross-entropy and band terms) and the validation accuracy (branches: the random validation shard of '
        + `each regular evaluation; SPA: the whole validation split after each epoch). Long curves are shown as at most ${MAX_POINTS} bucket means.`,
      data,
      blocks,
    };
  },
};
