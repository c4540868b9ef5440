import { kendallW, type StatisticsFile } from '../../scoring/index.js';
import type { Cell, FigureDef } from '../figure.js';
import { archName, modelLabel, readJson, sortArchs, type ScoreSet } from '../run.js';
import { fmt } from './common.js';
import { join } from 'node:path';

const COLUMNS = ['Rmu', 'Pmu'] as const;

/** The preset a model's ranking is read from: v2 for SPA's Captum methods, v1 otherwise (a score folder: its own). */
function rankingSets(sets: readonly ScoreSet[]): ScoreSet[] {
  return sets.filter((s) => s.key === '' || s.preset === (s.model.arch === 'spa' ? 'v2' : 'v1'));
}

const interval = (cell: { mean: number | null; ci: [number, number] | null } | undefined): Cell => {
  if (!cell || cell.mean === null) return '–';
  return { text: `${fmt(cell.mean)} [${cell.ci ? `${fmt(cell.ci[0])}–${fmt(cell.ci[1])}` : '–'}]`, sort: cell.mean };
};

/**
 * Method rankings that hold up: per model, each method's mean recall and precision with 95 % bootstrap intervals,
 * its rank and the methods it is not significantly different from (paired Wilcoxon, Holm), from statistics.json;
 * and how well the branches of an architecture agree on the ranking (Kendall's W).
 */
export const ranking: FigureDef = {
  id: 'ranking',
  title: 'Method ranking with confidence intervals and significance groups',
  needs: 'statistics.json in the score folders (written by fiveband score and the study\'s scoring since it exists)',
  async build(run) {
    const sets = rankingSets(run.scoreSets);
    const loaded: Array<{ set: ScoreSet; stats: StatisticsFile }> = [];
    for (const set of sets) {
      const stats = await readJson<StatisticsFile>(join(set.dir, 'statistics.json'));
      if (stats?.format === 'fiveband-statistics/1') loaded.push({ set, stats });
    }
    if (loaded.length === 0) return null;
    const rows: Cell[][] = [];
    for (const { set, stats } of loaded) {
      const byColumn = Object.fromEntries(COLUMNS.map((c) => [c, new Map((stats.ranking[c] ?? []).map((r) => [r.method, r]))]));
      for (const method of Object.keys(stats.intervals)) {
        const all = stats.intervals[method]!.all;
        rows.push([
          set.key === '' ? 'scores' : set.model.role === 'mab' ? archName(set.model.arch) : `${archName(set.model.arch)} ${modelLabel(set.model)}`, set.preset, method,
          ...COLUMNS.flatMap((c) => {
            const r = byColumn[c]!.get(method);
            return [interval(all?.[c]), r ? { text: String(r.rank), sort: r.rank } : '–', r && r.not_different_from.length > 0 ? r.not_different_from.join(', ') : '–'];
          }),
        ]);
      }
    }
    // Agreement of the branches of each architecture on the order of the methods (mean per branch).
    const agreement: Cell[][] = [];
    const archs = sortArchs(loaded.map((l) => l.set.model.arch));
    for (const arch of archs) {
      const branches = loaded.filter((l) => l.set.model.arch === arch && l.set.model.role === 'branch');
      if (branches.length < 2) continue;
      const methods = Object.keys(branches[0]!.stats.intervals).filter((m) => branches.every((b) => m in b.stats.intervals));
      agreement.push([archName(arch), String(branches.length), String(methods.length), ...COLUMNS.map((c) => {
        const w = kendallW(branches.map((b) => methods.map((m) => b.stats.intervals[m]!.all?.[c]?.mean ?? 0)));
        return w === null ? '–' : { text: fmt(w), sort: w };
      })]);
    }
    const stats0 = loaded[0]!.stats;
    return {
      caption: `Means over the test samples with ${Math.round(stats0.level * 100)} % percentile bootstrap intervals (${stats0.resamples} resamples, seed ${stats0.seed}); ` +
        `rank 1 = highest mean; "not different from" lists the methods whose paired two-sided Wilcoxon test on the same samples has a Holm-adjusted p ≥ ${stats0.alpha} ` +
        '(a ranking step between them is not supported by the data). Kendall\'s W: how alike the branches of an architecture order the methods (1 = the same order in every branch, 0 = no agreement).',
      data: { sets: loaded.map((l) => ({ key: l.set.key, preset: l.set.preset, ranking: l.stats.ranking })), agreement },
      blocks: [
        { kind: 'table', id: 'ranking', sortable: true, columns: ['model', 'setting', 'method', 'Rmu [95 % CI]', 'rank R', 'R not different from', 'Pmu [95 % CI]', 'rank P', 'P not different from'], rows },
        ...(agreement.length > 0 ? [{ kind: 'table' as const, id: 'kendall', title: 'Agreement across branches (Kendall\'s W of the method means)', columns: ['architecture', 'branches', 'methods', 'W (Rmu)', 'W (Pmu)'], rows: agreement }] : []),
      ],
    };
  },
};
