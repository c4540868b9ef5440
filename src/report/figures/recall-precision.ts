import { methodColourScale } from '../chart.js';
import type { Cell, FigureContent, FigureDef } from '../figure.js';
import { modelLabel, sortMethods, type RunFolder } from '../run.js';
import { BOOTSTRAP_RESAMPLES, type MeanStat } from '../stats.js';
import { classifierPanels, fmt, methodStats, type Panel } from './common.js';

type Statistic = 'mu' | 'u';

interface PanelSpec {
  id: string;
  preset: string;
  statistic: Statistic;
  scoreFolder: 'any' | 'same';
  what: string;
}

/** A point of a recall/precision chart: one method on one model. */
interface Point {
  arch: string;
  panel: string;
  model: string;
  label: string;
  method: string;
  n: number;
  R: MeanStat;
  P: MeanStat;
}

function statJson(s: MeanStat) {
  return { mean: s.mean, std: s.std, ci95: s.ci95, n: s.n };
}

/** Points of every method × model of the panels, in panel, model, method order. */
export async function recallPrecisionPoints(run: RunFolder, panels: Panel[], statistic: Statistic): Promise<Point[]> {
  const points: Point[] = [];
  for (const panel of panels) {
    for (const set of panel.sets) {
      for (const method of sortMethods(set.methods)) {
        const stats = await methodStats(run, set, method);
        if (!stats) continue;
        points.push({
          arch: panel.arch, panel: panel.title, model: set.key, label: modelLabel(set.model), method, n: stats.rows.length,
          R: statistic === 'mu' ? stats.Rmu : stats.Ru, P: statistic === 'mu' ? stats.Pmu : stats.Pu,
        });
      }
    }
  }
  return points;
}

/** The recall-vs-precision chart: a facet per panel, a point per method × model, ±1 sd bars (thin) and 95 % CI whiskers (thick). */
export function recallPrecisionChart(points: Point[], panelTitles: string[], axis: { x: string; y: string }) {
  const methods = sortMethods(points.map((p) => p.method));
  const clip = (v: number) => Math.max(0, Math.min(1, v));
  const values = points.map((p) => ({
    panel: p.panel, model: p.label, method: p.method, R: p.R.mean, P: p.P.mean,
    Rlo: clip(p.R.mean - p.R.std), Rhi: clip(p.R.mean + p.R.std), Plo: clip(p.P.mean - p.P.std), Phi: clip(p.P.mean + p.P.std),
    Rci0: p.R.ci95[0], Rci1: p.R.ci95[1], Pci0: p.P.ci95[0], Pci1: p.P.ci95[1],
  }));
  const colour = { field: 'method', type: 'nominal', title: 'method', scale: methodColourScale(methods) } as const;
  const x = { type: 'quantitative', title: axis.x, scale: { zero: true, nice: true } } as const;
  const y = { type: 'quantitative', title: axis.y, scale: { zero: true, nice: true } } as const;
  return {
    data: { values },
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: panelTitles } },
    spec: {
      width: 240,
      height: 240,
      layer: [
        { mark: { type: 'rule', opacity: 0.3 }, encoding: { x: { field: 'Rlo', ...x }, x2: { field: 'Rhi' }, y: { field: 'P', ...y }, color: colour } },
        { mark: { type: 'rule', opacity: 0.3 }, encoding: { x: { field: 'R', ...x }, y: { field: 'Plo', ...y }, y2: { field: 'Phi' }, color: colour } },
        { mark: { type: 'rule', opacity: 0.9, strokeWidth: 3 }, encoding: { x: { field: 'Rci0', ...x }, x2: { field: 'Rci1' }, y: { field: 'P', ...y }, color: colour } },
        { mark: { type: 'rule', opacity: 0.9, strokeWidth: 3 }, encoding: { x: { field: 'R', ...x }, y: { field: 'Pci0', ...y }, y2: { field: 'Pci1' }, color: colour } },
        {
          mark: { type: 'point', filled: true, size: 60, opacity: 0.95 },
          encoding: {
            x: { field: 'R', ...x }, y: { field: 'P', ...y }, color: colour,
            shape: { field: 'model', type: 'nominal', title: 'model' },
            tooltip: [{ field: 'panel' }, { field: 'model' }, { field: 'method' }, { field: 'R', format: '.3f' }, { field: 'P', format: '.3f' }],
          },
        },
      ],
    },
  } as const;
}

/** The sortable table of a recall/precision panel: mean, sd and bootstrap 95 % interval of R and P. */
export function recallPrecisionTable(points: Point[], id: string): Extract<import('../figure.js').Block, { kind: 'table' }> {
  const ci = (s: MeanStat): Cell => ({ text: `${fmt(s.ci95[0])} – ${fmt(s.ci95[1])}`, sort: s.ci95[0] });
  return {
    kind: 'table', id, sortable: true,
    columns: ['panel', 'model', 'method', 'n', 'R mean', 'R sd', 'R 95 % CI', 'P mean', 'P sd', 'P 95 % CI'],
    rows: points.map((p) => [p.panel, p.label, p.method, p.n, p.R.mean, p.R.std, ci(p.R), p.P.mean, p.P.std, ci(p.P)]),
  };
}

function panelFigure(spec: PanelSpec, title: string): FigureDef {
  return {
    id: spec.id,
    title,
    needs: `per-sample scores (<method>.csv) of setting ${spec.preset} for the classifiers' models (explain/<arch>/branch-<b>/scores/${spec.preset}/), or a score folder`,
    async build(run): Promise<FigureContent | null> {
      const panels = classifierPanels(run, spec.preset, spec.scoreFolder);
      const points = await recallPrecisionPoints(run, panels, spec.statistic);
      if (points.length === 0) return null;
      const titles = panels.map((p) => p.title);
      const setting = run.kind === 'scores' ? run.scoreSets[0]!.preset : spec.preset;
      const axis = spec.statistic === 'mu'
        ? { x: 'recall R (mean over thresholds)', y: 'precision P (mean over thresholds)' }
        : { x: 'recall R (best threshold)', y: 'precision P (best threshold)' };
      return {
        caption: `How to read it: one point per attribution method (colour) and model (shape), ${spec.what} (setting ${setting}); `
          + 'thin bars are ±1 standard deviation over the test samples (clipped to [0, 1]), thick whiskers the 95 % confidence interval of the mean. '
          + 'Grey points are null explainers (chance levels), black the ground truth scored as a heatmap (the ceiling), where the run has them. Points towards the top right are better. '
          + `The table gives the same numbers with percentile-bootstrap 95 % confidence intervals of the mean (${BOOTSTRAP_RESAMPLES} resamples, seeded); click a header to sort.`,
        data: {
          setting,
          statistic: spec.statistic === 'mu' ? 'mean over threshold sets' : 'best threshold set',
          points: points.map((p) => ({ panel: p.panel, model: p.model, method: p.method, n: p.n, R: statJson(p.R), P: statJson(p.P) })),
        },
        blocks: [
          { kind: 'chart', name: spec.id, spec: recallPrecisionChart(points, titles, axis) as never, alt: `${title}: recall against precision per method and model` },
          recallPrecisionTable(points, `${spec.id}-table`),
        ],
      };
    },
  };
}

export const fig3a = panelFigure({
  id: 'fig3a', preset: 'v1', statistic: 'mu', scoreFolder: 'any',
  what: 'at the mean over the soft thresholds of each sample\'s R and P (R_mu, P_mu), averaged over the test samples',
}, 'Fig. 3A — recall vs precision, mean over thresholds');

export const fig3b = panelFigure({
  id: 'fig3b', preset: 'v1', statistic: 'u', scoreFolder: 'any',
  what: 'at each sample\'s best threshold set (R_u, P_u, each maximised separately), averaged over the test samples',
}, 'Fig. 3B — recall vs precision, best threshold');

export const fig3c = panelFigure({
  id: 'fig3c', preset: 'v1-clamp', statistic: 'u', scoreFolder: 'same',
  what: 'as B after clamping the raw attribution to [−0.1, 0.1] (41 threshold sets from [−0.9, −0.5, 0.5, 0.9])',
}, 'Fig. 3C — recall vs precision, best threshold after clamping');
