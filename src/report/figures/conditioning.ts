import type { Cell, FigureDef } from '../figure.js';
import { sortMethods, type ConditioningReport } from '../run.js';
import { archModelLabel } from './common.js';

/** Rounding-sized numbers in scientific notation (0.000 would hide them), sorted by value. */
const small = (v: number): Cell => ({ text: v === 0 ? '0' : v.toExponential(1), sort: v });

/** The study's conditioning checks: how far each method's maps and scores move under rounding-level changes. */
export const conditioning: FigureDef = {
  id: 'conditioning',
  title: 'Conditioning — how much of a heatmap is rounding?',
  needs: 'conditioning checks of the explained models (conditioning/<model>/conditioning.json; study profiles with "conditioning")',
  async build(run) {
    if (run.kind !== 'study') return null;
    const reports: Array<{ label: string; report: ConditioningReport }> = [];
    for (const model of run.models) {
      const report = await run.conditioningOf(model.key);
      if (report) reports.push({ label: archModelLabel(model), report });
    }
    if (reports.length === 0) return null;
    const rows: Cell[][] = [];
    for (const { label, report } of reports) {
      for (const method of sortMethods(report.rows.map((r) => r.method))) {
        for (const r of report.rows.filter((x) => x.method === method)) {
          rows.push([label, method, r.perturbation === 'one-ulp' ? 'one ulp' : 'batch 1 vs n', small(r.map_rel_l2_median), small(r.map_rel_l2_max), r.rmu_moved, r.pmu_moved,
            report.dominated.includes(method) ? 'dominated' : 'stable']);
        }
      }
    }
    const dominated = reports.flatMap(({ label, report }) => report.dominated.map((m) => `${m} (${label})`));
    const tolerance = reports[0]!.report.tolerance;
    return {
      caption: 'How to read it: each method explained the same test samples three times — in one batch of all of them, with every input value moved by one '
        + 'float32 ulp (direction drawn per value, seeded), and one sample at a time. "map change" is the relative L2 distance ‖a − b‖ / max(‖a‖, ‖b‖) of a sample\'s '
        + `channel-summed map to the batch's (median and largest over the samples); "moved R" / "moved P" the share of samples whose R_mu / P_mu changed by more than ${tolerance}. `
        + 'On flat backgrounds max-pool windows hold tied maxima, so a gradient can jump to another pixel on a rounding change; a method is "dominated" when '
        + 'more than a quarter of its samples\' scores move.',
      notes: [dominated.length > 0 ? `Scores dominated by rounding: ${dominated.join(', ')}.` : 'No method\'s scores are dominated by rounding on these models.'],
      data: { models: reports.map(({ label, report }) => ({ model: label, samples: report.samples, tolerance: report.tolerance, rows: report.rows, dominated: report.dominated })) },
      blocks: [{
        kind: 'table', id: 'conditioning-table', sortable: true,
        columns: ['model', 'method', 'change', 'map change (median)', 'map change (max)', 'moved R', 'moved P', 'verdict'],
        rows,
      }],
    };
  },
};
