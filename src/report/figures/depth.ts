import type { FigureDef } from '../figure.js';
import { sortMethods } from '../run.js';
import { npMean } from '../../scoring/index.js';

/**
 * The depth experiment (the paper's appendix fig. 1): AlexNet with k added convolution blocks; mean recall
 * and precision per predicted class, per method, one colour per k.
 */
export const depth: FigureDef = {
  id: 'depth',
  title: 'Depth experiment — AlexNet with k added blocks, recall vs precision per predicted class',
  needs: 'scores of setting v1 for the depth models (explain/alexnet-depth/k<k>/scores/v1/)',
  async build(run) {
    if (run.kind !== 'study') return null;
    const sets = run.sets('v1', (m) => m.role === 'depth').sort((a, b) => (a.model.depth ?? 0) - (b.model.depth ?? 0));
    if (sets.length === 0) return null;
    const ks = sets.map((s) => s.model.depth ?? 0);
    const points: Array<{ k: number; method: string; predicted: number; n: number; R: number; P: number }> = [];
    for (const set of sets) {
      for (const method of sortMethods(set.methods)) {
        const rows = await run.samples(set, method);
        if (!rows) continue;
        const classes = [...new Set(rows.map((r) => r.yPred).filter((c): c is number => c !== null))].sort((a, b) => a - b);
        for (const c of classes) {
          const group = rows.filter((r) => r.yPred === c);
          points.push({ k: set.model.depth ?? 0, method, predicted: c, n: group.length, R: npMean(group.map((r) => r.Rmu)), P: npMean(group.map((r) => r.Pmu)) });
        }
      }
    }
    if (points.length === 0) return null;
    const methods = sortMethods(points.map((p) => p.method));
    const kText = ks.join(', ');
    const spec = {
      title: `k run: ${kText}`,
      data: { values: points.map((p) => ({ ...p, kLabel: `k = ${p.k}` })) },
      facet: { field: 'method', type: 'nominal', title: null, sort: methods },
      columns: 3,
      spec: {
        width: 200,
        height: 200,
        layer: [
          {
            mark: { type: 'point', filled: true, size: 40, opacity: 0.85 },
            encoding: {
              x: { field: 'R', type: 'quantitative', title: 'recall R (mean over thresholds)', scale: { zero: true } },
              y: { field: 'P', type: 'quantitative', title: 'precision P (mean over thresholds)', scale: { zero: true } },
              color: { field: 'kLabel', type: 'ordinal', title: 'added blocks', sort: ks.map((k) => `k = ${k}`), scale: { scheme: 'viridis' } },
            },
          },
          {
            mark: { type: 'text', dx: 6, dy: -5, fontSize: 8, align: 'left' },
            encoding: {
              x: { field: 'R', type: 'quantitative' }, y: { field: 'P', type: 'quantitative' }, text: { field: 'predicted', type: 'nominal' },
              color: { field: 'kLabel', type: 'ordinal', sort: ks.map((k) => `k = ${k}`), legend: null },
            },
          },
        ],
      },
    };
    return {
      caption: `How to read it: one panel per method; each point is the mean recall and precision (R_mu, P_mu, setting v1) over the test samples an AlexNet with k added `
        + `blocks predicted as one class (the number beside it), colour by k. This run trained k = ${kText}. If shallower networks gave better heatmaps, `
        + 'points of small k would sit further to the top right.',
      notes: [`k run: ${kText}.`],
      data: { ks, points },
      blocks: [{ kind: 'chart', name: 'depth', spec: spec as never, alt: `depth experiment, k = ${kText}` }],
    };
  },
};
