import { methodColourScale } from '../chart.js';
import type { FigureDef } from '../figure.js';
import { modelLabel, sortMethods } from '../run.js';
import { classifierPanels } from './common.js';

/** Fig. 4: ROC per architecture, FPR on x and recall on y, a line per method × model. */
export const fig4: FigureDef = {
  id: 'fig4',
  title: 'Fig. 4 — ROC per architecture',
  needs: 'ROC files (roc_<method>.csv) of setting v1 for the classifiers\' models, or a score folder',
  async build(run) {
    const panels = classifierPanels(run, 'v1');
    const lines: Array<{ panel: string; model: string; label: string; method: string; points: Array<{ index: number; fpr: number; recall: number }> }> = [];
    for (const panel of panels) {
      for (const set of panel.sets) {
        for (const method of sortMethods(set.methods)) {
          const roc = await run.roc(set, method);
          if (!roc || roc.length === 0) continue;
          lines.push({ panel: panel.title, model: set.key, label: modelLabel(set.model), method, points: roc.map((p) => ({ index: p.index, fpr: p.fpr, recall: p.recall })) });
        }
      }
    }
    if (lines.length === 0) return null;
    const values = lines.flatMap((l) => l.points.map((p) => ({ panel: l.panel, model: l.label, method: l.method, line: `${l.method} ${l.label}`, ...p })));
    const methods = sortMethods(lines.map((l) => l.method));
    const spec = {
      data: { values },
      facet: { column: { field: 'panel', type: 'nominal', title: null, sort: panels.map((p) => p.title) } },
      spec: {
        width: 240,
        height: 240,
        mark: { type: 'line', point: { size: 12 }, strokeWidth: 1.5, opacity: 0.85 },
        encoding: {
          x: { field: 'fpr', type: 'quantitative', title: 'FPR (mean over samples)', scale: { zero: true } },
          y: { field: 'recall', type: 'quantitative', title: 'recall (mean over samples)', scale: { zero: true } },
          color: { field: 'method', type: 'nominal', title: 'method', scale: methodColourScale(methods) },
          strokeDash: { field: 'model', type: 'nominal', title: 'model' },
          detail: { field: 'line', type: 'nominal' },
          order: { field: 'index', type: 'quantitative' },
        },
      },
    };
    const setting = run.kind === 'scores' ? run.scoreSets[0]!.preset : 'v1';
    return {
      caption: `How to read it: each line is one method (colour) on one model (dash), a point per soft-threshold set of setting ${setting}, `
        + 'at the mean FPR and mean recall over the test samples. Steeper rises of recall for little FPR are better; because the thresholds move in '
        + 'four dimensions the curves need not start at (0, 0) or end at (1, 1).',
      data: { setting, lines },
      blocks: [{ kind: 'chart', name: 'fig4', spec: spec as never, alt: 'ROC curves per architecture' }],
    };
  },
};
