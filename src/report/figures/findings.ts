import { isReferenceMap } from '../../scoring/index.js';
import type { Cell, FigureDef } from '../figure.js';
import { archName, METHOD_ORDER, modelLabel, sortMethods, type RunFolder, type ScoreSet } from '../run.js';
import { archModelLabel, classifierPanels, fmt, meanOf, methodStats, type MethodStats } from './common.js';

export type Verdict = 'holds' | 'does not hold' | 'not tested';

/** One checked claim of the paper. */
export interface Finding {
  claim: string;
  scope: string;
  measured: string;
  verdict: Verdict;
  values: Record<string, number | string | null>;
}

/** One method's scores in one group (an architecture, SPA's Captum methods, or a score folder), averaged over its models. */
export interface GroupMethod {
  group: string;
  method: string;
  models: number;
  /** Means over the group's models of the per-model means over samples. */
  Rmu: number;
  Pmu: number;
  Ru: number;
  Pu: number;
  perModel: Array<{ model: string; label: string; Rmu: number; Pmu: number; Ru: number; Pu: number }>;
}

interface Group {
  name: string;
  sets: ScoreSet[];
}

/** The groups the claims are checked on: each classifier's v1 models, SPA's v2 Captum scores; or the score folder. */
function groupsOf(run: RunFolder): Group[] {
  const groups: Group[] = classifierPanels(run, 'v1').map((p) => ({ name: p.title, sets: p.sets }));
  if (run.kind === 'study') {
    const spa = run.sets('v2', (m) => m.arch === 'spa');
    if (spa.length > 0) groups.push({ name: `${archName('spa')}, Captum methods`, sets: spa });
  }
  return groups;
}

async function groupMethods(run: RunFolder, group: Group): Promise<GroupMethod[]> {
  const out: GroupMethod[] = [];
  // The claims are about explanation methods: mab is checked on its own, reference maps (nulls, the truth) not at all.
  for (const method of sortMethods(group.sets.flatMap((s) => s.methods)).filter((m) => m !== 'mab' && !isReferenceMap(m))) {
    const stats = (await Promise.all(group.sets.map((s) => (s.methods.includes(method) ? methodStats(run, s, method) : null))))
      .filter((s): s is MethodStats => s !== null);
    if (stats.length === 0) continue;
    const perModel = stats.map((s) => ({ model: s.set.key, label: modelLabel(s.set.model), Rmu: s.Rmu.mean, Pmu: s.Pmu.mean, Ru: s.Ru.mean, Pu: s.Pu.mean }));
    out.push({
      group: group.name, method, models: stats.length, perModel,
      Rmu: meanOf(perModel.map((p) => p.Rmu)), Pmu: meanOf(perModel.map((p) => p.Pmu)), Ru: meanOf(perModel.map((p) => p.Ru)), Pu: meanOf(perModel.map((p) => p.Pu)),
    });
  }
  return out;
}

/** Ranks (1 = best) of `values`, ties sharing the better rank. */
function ranks(values: number[]): number[] {
  return values.map((v) => 1 + values.filter((w) => w > v).length);
}

/** Computes the method ranking and checks the paper's claims on this run's numbers. */
export async function computeFindings(run: RunFolder): Promise<{ ranking: Array<GroupMethod & { rankR: number; rankP: number }>; findings: Finding[] } | null> {
  const groups = groupsOf(run);
  const all: GroupMethod[] = [];
  const ranking: Array<GroupMethod & { rankR: number; rankP: number }> = [];
  for (const group of groups) {
    const methods = await groupMethods(run, group);
    const rR = ranks(methods.map((m) => m.Ru));
    const rP = ranks(methods.map((m) => m.Pu));
    methods.forEach((m, i) => ranking.push({ ...m, rankR: rR[i]!, rankP: rP[i]! }));
    all.push(...methods);
  }
  const mabSets = run.kind === 'scores' ? run.scoreSets.filter((s) => s.methods.includes('mab')) : run.scoreSets.filter((s) => s.methods.includes('mab') && s.preset === 'mab');
  const mab = (await Promise.all(mabSets.map((s) => methodStats(run, s, 'mab')))).filter((s): s is MethodStats => s !== null);
  if (all.length === 0 && mab.length === 0) return null;

  const findings: Finding[] = [];
  // The claims are about the paper's nine methods; fiveband's additions are ranked below but not held to them.
  const paper = all.filter((m) => METHOD_ORDER.includes(m.method));
  // 1. mabCAM: P and R above 0.8.
  if (mab.length === 0) {
    findings.push({ claim: 'mabCAM: mean recall and precision both > 0.8', scope: '–', measured: 'no mab scores in this run', verdict: 'not tested', values: {} });
  } else {
    for (const s of mab) {
      const R = s.Ru.mean;
      const P = s.Pu.mean;
      findings.push({
        claim: 'mabCAM: mean recall and precision both > 0.8', scope: s.set.key ? `${s.set.key} (setting ${s.set.preset})` : `score folder (setting ${s.set.preset})`,
        measured: `R = ${fmt(R)}, P = ${fmt(P)} (n = ${s.rows.length})`, verdict: R > 0.8 && P > 0.8 ? 'holds' : 'does not hold', values: { R, P, n: s.rows.length },
      });
    }
  }
  // 2. Every other method's precision below 0.4 (each method on each model, at its best threshold).
  const points = paper.flatMap((m) => m.perModel.map((p) => ({ group: m.group, method: m.method, label: p.label, P: p.Pu })));
  if (points.length === 0) {
    findings.push({ claim: 'every other method: mean precision < 0.4', scope: '–', measured: 'no scores of other methods', verdict: 'not tested', values: {} });
  } else {
    const worst = points.reduce((a, b) => (b.P > a.P ? b : a));
    const below = points.filter((p) => p.P < 0.4).length;
    findings.push({
      claim: 'every other method: mean precision < 0.4', scope: `${points.length} method × model points (P at the best threshold, mean over samples)`,
      measured: `highest P = ${fmt(worst.P)} (${worst.method}, ${worst.group} ${worst.label}); ${below} of ${points.length} below 0.4`,
      verdict: worst.P < 0.4 ? 'holds' : 'does not hold', values: { maxP: worst.P, method: worst.method, group: worst.group, model: worst.label, below, points: points.length },
    });
  }
  // 3. Saliency has the highest recall (mean over thresholds, fig. 3A), per group and overall.
  const byGroup = groups.map((g) => paper.filter((m) => m.group === g.name)).filter((ms) => ms.length > 0);
  if (!paper.some((m) => m.method === 'Saliency')) {
    findings.push({ claim: 'Saliency has the highest recall', scope: '–', measured: 'no Saliency scores in this run', verdict: 'not tested', values: {} });
  } else {
    for (const ms of byGroup) {
      const best = ms.reduce((a, b) => (b.Rmu > a.Rmu ? b : a));
      const saliency = ms.find((m) => m.method === 'Saliency');
      findings.push({
        claim: 'Saliency has the highest recall', scope: `${ms[0]!.group} (R_mu, mean over its ${best.models === 1 ? 'model' : 'models'})`,
        measured: saliency
          ? `Saliency R = ${fmt(saliency.Rmu)}; highest: ${best.method} R = ${fmt(best.Rmu)}`
          : `no Saliency scores; highest: ${best.method} R = ${fmt(best.Rmu)}`,
        verdict: !saliency ? 'not tested' : saliency.Rmu >= best.Rmu ? 'holds' : 'does not hold',
        values: { saliency: saliency?.Rmu ?? null, best: best.Rmu, bestMethod: best.method },
      });
    }
    if (byGroup.length > 1) {
      const best = paper.reduce((a, b) => (b.Rmu > a.Rmu ? b : a));
      findings.push({
        claim: 'Saliency has the highest recall', scope: 'overall (every architecture and the paper\'s methods)',
        measured: `highest: ${best.method} on ${best.group}, R = ${fmt(best.Rmu)}`,
        verdict: best.method === 'Saliency' ? 'holds' : 'does not hold', values: { best: best.Rmu, bestMethod: best.method, group: best.group },
      });
    }
  }
  // 4. fiveband's own check (not a claim of the paper): scores that rounding alone moves.
  for (const model of run.kind === 'study' ? run.models : []) {
    const report = await run.conditioningOf(model.key);
    if (!report) continue;
    const worst = report.rows.reduce((a, b) => (Math.max(b.rmu_moved, b.pmu_moved) > Math.max(a.rmu_moved, a.pmu_moved) ? b : a));
    const share = Math.max(worst.rmu_moved, worst.pmu_moved);
    findings.push({
      claim: 'fiveband: no method\'s scores are dominated by rounding', scope: `${archModelLabel(model)} (${report.samples} samples; one ulp, batch 1 vs n)`,
      measured: report.dominated.length > 0
        ? `dominated: ${report.dominated.join(', ')}; worst ${worst.method} (${worst.perturbation}), ${(100 * share).toFixed(0)} % of samples move by > ${report.tolerance}`
        : `worst ${worst.method} (${worst.perturbation}): ${(100 * share).toFixed(0)} % of samples move by > ${report.tolerance}`,
      verdict: report.dominated.length > 0 ? 'does not hold' : 'holds', values: { dominated: report.dominated.join(', '), worst: worst.method, share },
    });
  }
  return { ranking, findings };
}

/** The findings: a method ranking per architecture and the paper's claims checked on this run, computed from the scores. */
export const findings: FigureDef = {
  id: 'findings',
  title: 'Findings — ranking of the methods and the paper\'s claims on this run',
  needs: 'per-sample scores of the classifiers, SPA or a score folder',
  async build(run) {
    const result = await computeFindings(run);
    if (!result) return null;
    const verdictCell = (v: Verdict): Cell => ({ text: v, className: v === 'holds' ? 'holds' : v === 'does not hold' ? 'fails' : 'untested' });
    return {
      caption: 'How to read it: the first table checks three statements of the paper against this run\'s numbers — mabCAM\'s mean P and R above 0.8; '
        + 'every other method\'s mean precision below 0.4 (each method on each model, at each sample\'s best threshold); Saliency with the highest mean recall '
        + '(mean over thresholds, as fig. 3A) — each marked holds / does not hold with the numbers — and, where the run measured conditioning, fiveband\'s own check that no method\'s scores are dominated by rounding (see "Conditioning"). The second ranks the methods per architecture by '
        + 'best recall R_u and best precision P_u (means over samples, averaged over the architecture\'s models; 1 = highest). Nothing here is written by hand.',
      data: result,
      blocks: [
        {
          kind: 'table', id: 'findings', columns: ['claim', 'where', 'measured', 'verdict'],
          rows: result.findings.map((f) => [f.claim, f.scope, f.measured, verdictCell(f.verdict)]),
        },
        {
          kind: 'table', id: 'ranking', sortable: true, title: 'Ranking by best recall and best precision',
          columns: ['architecture', 'method', 'models', 'R_u (mean)', 'rank by R_u', 'P_u (mean)', 'rank by P_u'],
          rows: result.ranking.map((r) => [r.group, r.method, r.models, r.Ru, r.rankR, r.Pu, r.rankP]),
        },
      ],
    };
  },
};
