import { methodColourScale } from '../chart.js';
import type { FigureDef } from '../figure.js';
import { sortMethods, type ScoreSet } from '../run.js';
import { BOOTSTRAP_RESAMPLES } from '../stats.js';
import { fmt, methodStats, round6 } from './common.js';

/**
 * Fig. 9: mabCAM's recall vs precision with every test sample scattered behind the means, beside the
 * Captum methods on the same SPA model (their best threshold of setting v2; mab has one threshold set).
 */
export const fig9: FigureDef = {
  id: 'fig9',
  title: 'Fig. 9 — mabCAM recall vs precision, every test sample',
  needs: 'SPA\'s scores: explain/spa/scores/mab/ (and v2 for the other methods), or a score folder with a mab method',
  async build(run) {
    let sets: ScoreSet[];
    if (run.kind === 'scores') sets = run.scoreSets[0]!.methods.includes('mab') ? [run.scoreSets[0]!] : [];
    else sets = run.scoreSets.filter((s) => s.model.arch === 'spa' && (s.preset === 'mab' || s.preset === 'v2'));
    if (!sets.some((s) => s.methods.includes('mab'))) return null;
    const means: Array<{ method: string; setting: string; model: string; n: number; R: unknown; P: unknown }> = [];
    const samples: Array<{ method: string; id: string; R: number; P: number }> = [];
    const table: Array<Array<string | number>> = [];
    for (const set of sets) {
      for (const method of sortMethods(set.methods)) {
        if (set.preset === 'mab' && method !== 'mab' && run.kind === 'study') continue;
        const stats = await methodStats(run, set, method);
        if (!stats) continue;
        means.push({ method, setting: set.preset, model: set.key, n: stats.rows.length, R: stats.Ru, P: stats.Pu });
        for (const row of stats.rows) samples.push({ method, id: row.id, R: round6(row.Ru), P: round6(row.Pu) });
        table.push([method, set.preset, stats.rows.length, fmt(stats.Ru.mean), `${fmt(stats.Ru.ci95[0])} – ${fmt(stats.Ru.ci95[1])}`, fmt(stats.Pu.mean), `${fmt(stats.Pu.ci95[0])} – ${fmt(stats.Pu.ci95[1])}`]);
      }
    }
    const methods = sortMethods(means.map((m) => m.method));
    // mab, the figure's subject, is drawn last (on top).
    means.sort((a, b) => methods.indexOf(a.method) - methods.indexOf(b.method));
    samples.sort((a, b) => methods.indexOf(a.method) - methods.indexOf(b.method));
    const colour = { field: 'method', type: 'nominal', title: 'method', scale: methodColourScale(methods) } as const;
    const spec = {
      width: 420,
      height: 420,
      layer: [
        {
          data: { values: samples },
          mark: { type: 'point', filled: true, size: 14, opacity: 0.25 },
          encoding: {
            x: { field: 'R', type: 'quantitative', title: 'recall R (best threshold; mab: its one threshold set)', scale: { domain: [0, 1] } },
            y: { field: 'P', type: 'quantitative', title: 'precision P', scale: { domain: [0, 1] } },
            color: colour,
          },
        },
        {
          data: { values: means.map((m) => ({ method: m.method, R: (m.R as { mean: number }).mean, P: (m.P as { mean: number }).mean })) },
          mark: { type: 'point', filled: true, size: 160, opacity: 1, stroke: '#f5c400', strokeWidth: 2.5 },
          encoding: { x: { field: 'R', type: 'quantitative' }, y: { field: 'P', type: 'quantitative' }, color: colour },
        },
      ],
    };
    return {
      caption: 'How to read it: small faint dots are individual test samples, large dots with a yellow rim the means over samples, colour by method. '
        + 'mab (mabCAM\'s magnitude-banded heatmap) is scored with its single threshold set (setting mab); the other methods are Captum attributions of the same SPA '
        + 'model at each sample\'s best threshold set of setting v2. Top right is better. '
        + `The table gives the means with percentile-bootstrap 95 % intervals (${BOOTSTRAP_RESAMPLES} resamples).`,
      data: { means, samples },
      blocks: [
        { kind: 'chart', name: 'fig9', spec: spec as never, alt: 'mabCAM recall vs precision with every test sample' },
        { kind: 'table', id: 'fig9-table', sortable: true, columns: ['method', 'setting', 'n', 'R mean', 'R 95 % CI', 'P mean', 'P 95 % CI'], rows: table },
      ],
    };
  },
};
