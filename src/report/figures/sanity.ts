import { methodColourScale } from '../chart.js';
import type { Cell, FigureDef } from '../figure.js';
import { sortMethods, type SanityReport } from '../run.js';
import { archModelLabel } from './common.js';

/**
 * Model-randomisation sanity checks (Adebayo et al. 2018) of the study's sanity tasks: how much each method's
 * heatmaps change as the model's layers are re-initialised, cascading from the top and one layer at a time.
 */
export const sanity: FigureDef = {
  id: 'sanity',
  title: 'Sanity checks — do the heatmaps depend on the model?',
  needs: 'sanity checks of the explained models (sanity/<model>/sanity.json; study profiles with "sanity")',
  async build(run) {
    if (run.kind !== 'study') return null;
    const reports: Array<{ key: string; label: string; report: SanityReport }> = [];
    for (const model of run.models) {
      const report = await run.sanityOf(model.key);
      if (report) reports.push({ key: model.key, label: archModelLabel(model), report });
    }
    if (reports.length === 0) return null;
    const values = reports.flatMap(({ label, report }) => report.steps
      .filter((s) => s.spearman_abs !== null && s.mode !== 'random-labels')
      .map((s) => ({ model: label, mode: s.mode, method: s.method, k: s.layers, spearman: s.spearman_abs, layer: s.layer })));
    const methods = sortMethods(values.map((v) => v.method));
    const spec = {
      data: { values },
      facet: {
        row: { field: 'mode', type: 'nominal', title: null },
        column: { field: 'model', type: 'nominal', title: null, sort: reports.map((r) => r.label) },
      },
      resolve: { scale: { x: 'independent' } }, // layer counts differ per architecture
      spec: {
        width: 220,
        height: 180,
        mark: { type: 'line', point: { size: 20 }, strokeWidth: 1.5 },
        encoding: {
          x: { field: 'k', type: 'quantitative', title: 'layers from the top (k)', scale: { zero: false } },
          y: { field: 'spearman', type: 'quantitative', title: 'Spearman |map| vs trained', scale: { domain: [-0.2, 1] } },
          color: { field: 'method', type: 'nominal', title: 'method', scale: methodColourScale(methods) },
          tooltip: [{ field: 'model' }, { field: 'method' }, { field: 'k' }, { field: 'layer' }, { field: 'spearman', format: '.3f' }],
        },
      },
    };
    // The random-label check (a model trained on shuffled labels) gets its columns when a model has it.
    const withLabels = reports.some(({ report }) => report.steps.some((s) => s.mode === 'random-labels'));
    const rows: Cell[][] = [];
    for (const { label, report } of reports) {
      const all = report.layers.length;
      for (const method of sortMethods(Object.keys(report.trained))) {
        const full = report.steps.find((s) => s.method === method && s.mode === 'cascading' && s.layers === all);
        const shuffled = report.steps.find((s) => s.method === method && s.mode === 'random-labels');
        const trained = report.trained[method]!;
        rows.push([
          label, method, trained.Rmu, trained.Pmu, full?.spearman_abs ?? null, full?.ssim_abs ?? null, full?.Rmu ?? null, full?.Pmu ?? null,
          ...(withLabels ? [shuffled?.spearman_abs ?? null, shuffled?.Rmu ?? null, shuffled?.Pmu ?? null] : []),
          report.insensitive.includes(method) ? 'insensitive' : 'changes',
        ]);
      }
    }
    const insensitive = reports.flatMap(({ label, report }) => report.insensitive.map((m) => `${m} (${label})`));
    const samples = [...new Set(reports.map((r) => r.report.samples))].join(', ');
    return {
      caption: 'How to read it: each panel is one model; a line per method gives the mean Spearman rank correlation between the absolute heatmaps of '
        + 'the trained model and of the model with k layers re-initialised (top row: the top k layers, cascading; bottom row: only the k-th layer from the top). '
        + 'A method that explains the model should fall towards 0 as layers are randomised; a line that stays high is insensitive to the model '
        + `(Adebayo et al., 2018). Null explainers ignore the model and stay at 1: they are the control. ${samples} test samples per model. `
        + 'The table gives, per method, the trained model\'s mean R and P (the paper\'s setting for it), and with every layer random: Spearman |map|, '
        + 'SSIM of |map| scaled to [0, 1], and the five-band R and P of the random model\'s maps'
        + (withLabels ? '; then the random-label check: the same columns for a model of the same architecture trained on shuffled labels.' : '.'),
      notes: [insensitive.length > 0 ? `Insensitive to the model (Spearman |map| ≥ 0.5 with every layer random): ${insensitive.join(', ')}.` : 'Every method\'s maps change when the model is random.'],
      data: { models: reports.map(({ key, report }) => ({ model: key, samples: report.samples, layers: report.layers, trained: report.trained, steps: report.steps, insensitive: report.insensitive })) },
      blocks: [
        { kind: 'chart', name: 'sanity', spec: spec as never, alt: 'Spearman correlation of heatmaps under model randomisation, per model and method' },
        {
          kind: 'table', id: 'sanity-table', sortable: true,
          columns: [
            'model', 'method', 'trained R', 'trained P', 'Spearman |map| (all random)', 'SSIM (all random)', 'R (all random)', 'P (all random)',
            ...(withLabels ? ['Spearman |map| (random labels)', 'R (random labels)', 'P (random labels)'] : []), 'verdict',
          ],
          rows,
        },
      ],
    };
  },
};
