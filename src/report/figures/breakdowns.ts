import { methodColourScale } from '../chart.js';
import type { FigureDef } from '../figure.js';
import { sortArchs, sortMethods, type RunFolder, type ScoreSet } from '../run.js';
import { npMean } from '../../scoring/index.js';
import { archModelLabel } from './common.js';

/** The three background types of the cells (spec §1.6), by the `bg_rand` draw each sample records. */
const BACKGROUNDS = ['background 0', 'background 1', 'background 2'];

/** Background type per test sample id, from the dataset's recorded draws; empty without a dataset. */
async function backgroundsById(run: RunFolder): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  const dataset = await run.dataset();
  if (!dataset) return found;
  for (let index = 0; index < dataset.shards.test.length; index++) {
    const shard = await run.testShard(index);
    shard?.ids.forEach((id, i) => {
      const bg = shard.variables[i]?.bg_rand;
      if (typeof bg === 'number') found.set(id, bg);
    });
  }
  return found;
}

/**
 * Breakdowns of the five-band scores: each method's mean R_mu and P_mu per true class, per background type and for
 * correct against wrong predictions, on one model per architecture (the first branch; SPA with the v2 setting).
 */
export const breakdowns: FigureDef = {
  id: 'breakdowns',
  title: 'Breakdowns — scores by class, background and prediction',
  needs: 'per-sample scores of the first branch of each classifier (setting v1) or SPA (v2), with true and predicted classes',
  async build(run) {
    if (run.kind !== 'study') return null;
    const order = sortArchs(run.scoreSets.map((s) => s.model.arch));
    const sets: ScoreSet[] = run.scoreSets
      .filter((s) => (s.model.role === 'branch' && s.model.branch === 1 && s.preset === 'v1') || (s.model.role === 'mab' && s.preset === 'v2'))
      .sort((a, b) => order.indexOf(a.model.arch) - order.indexOf(b.model.arch));
    if (sets.length === 0) return null;
    const backgrounds = await backgroundsById(run);
    const cells: Array<{ model: string; method: string; kind: string; group: string; order: number; n: number; R: number; P: number }> = [];
    for (const set of sets) {
      const model = archModelLabel(set.model);
      for (const method of sortMethods(set.methods)) {
        const rows = await run.samples(set, method);
        if (!rows) continue;
        const add = (kind: string, group: string, order: number, chosen: typeof rows) => {
          if (chosen.length > 0) cells.push({ model, method, kind, group, order, n: chosen.length, R: npMean(chosen.map((r) => r.Rmu)), P: npMean(chosen.map((r) => r.Pmu)) });
        };
        for (let c = 0; c < 10; c++) add('true class', `class ${c}`, c, rows.filter((r) => r.y0 === c));
        BACKGROUNDS.forEach((name, b) => add('background', name, 10 + b, rows.filter((r) => backgrounds.get(r.id) === b)));
        add('prediction', 'correct', 13, rows.filter((r) => r.correct === 1));
        add('prediction', 'wrong', 14, rows.filter((r) => r.correct === 0));
      }
    }
    if (cells.length === 0) return null;
    const groups = [...new Map(cells.map((c) => [c.group, c.order])).entries()].sort((a, b) => a[1] - b[1]).map(([g]) => g);
    const methods = sortMethods(cells.map((c) => c.method));
    const spec = {
      data: { values: cells },
      facet: { row: { field: 'model', type: 'nominal', title: null, sort: sets.map((s) => archModelLabel(s.model)) } },
      spec: {
        width: 15 * 22,
        height: methods.length * 14,
        mark: { type: 'rect' },
        encoding: {
          x: { field: 'group', type: 'ordinal', title: null, sort: groups },
          y: { field: 'method', type: 'nominal', title: null, sort: methods },
          color: { field: 'P', type: 'quantitative', title: 'P_mu', scale: { scheme: 'viridis', domain: [0, 1] } },
          tooltip: [{ field: 'model' }, { field: 'method' }, { field: 'group' }, { field: 'n' }, { field: 'R', format: '.3f' }, { field: 'P', format: '.3f' }],
        },
      },
      resolve: { scale: { y: 'independent' } },
    };
    const pointSpec = {
      data: { values: cells.filter((c) => c.kind !== 'true class') },
      facet: { column: { field: 'group', type: 'nominal', title: null, sort: groups.slice(10) }, row: { field: 'model', type: 'nominal', title: null } },
      spec: {
        width: 110, height: 110,
        mark: { type: 'point', filled: true, size: 40 },
        encoding: {
          x: { field: 'R', type: 'quantitative', title: 'R_mu', scale: { domain: [0, 1] } },
          y: { field: 'P', type: 'quantitative', title: 'P_mu', scale: { domain: [0, 1] } },
          color: { field: 'method', type: 'nominal', title: 'method', scale: methodColourScale(methods) },
        },
      },
    };
    return {
      caption: 'How to read it: the first chart colours each method\'s mean precision P_mu (setting v1; v2 on SPA) over the test samples of one true class, '
        + 'one background type, or the correct / wrong predictions, on the first branch of each classifier and on SPA; the second places each method at its '
        + 'mean recall and precision per background type and per prediction outcome. A method whose precision collapses on one class or background '
        + 'explains that case poorly; "wrong" columns show how heatmaps of misclassified samples fare. The data hold n, R_mu and P_mu of every cell.',
      data: { cells },
      blocks: [
        { kind: 'chart', name: 'breakdowns', spec: spec as never, alt: 'mean precision per method and class, background and prediction outcome' },
        { kind: 'chart', name: 'breakdowns-points', spec: pointSpec as never, alt: 'recall against precision per method, background type and prediction outcome' },
      ],
    };
  },
};
