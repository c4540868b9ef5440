import { REGION_SUFFIXES, type Metric } from './metric.js';

/**
 * Relevance mass accuracy (Arras, Osman & Samek, "CLEVR-XAI: A benchmark dataset for the ground truth
 * evaluation of neural network explanations", Information Fusion 2022): the share of the positive relevance
 * that falls inside the ground-truth region, R_within / R_total with R = Σ max(v, 0) over the adjusted heatmap
 * (Arras et al. count positive relevance only; Quantus' RelevanceMassAccuracy sums signed values, which is the
 * same for non-negative maps). Scale-invariant, so the division by max |sum| does not change it.
 * Columns `_b2` (0.9 band) and `_b12` (0.4 ∪ 0.9). Undefined (null) for an empty region or a map without
 * positive relevance (where the ratio is 0/0).
 */
export const relevanceMassAccuracy: Metric = {
  name: 'relevance_mass_accuracy',
  columns: REGION_SUFFIXES.map((r) => `mass_accuracy_${r}`),
  compute({ adjusted, truth }) {
    let total = 0;
    let within2 = 0;
    let within12 = 0;
    let size2 = 0;
    let size12 = 0;
    for (let i = 0; i < adjusted.length; i++) {
      const positive = Math.max(adjusted[i]!, 0);
      total += positive;
      const t = truth[i]!;
      if (t >= 1) {
        size12++;
        within12 += positive;
        if (t === 2) {
          size2++;
          within2 += positive;
        }
      }
    }
    // No closure over `total`: a captured variable lives on the heap, and the loop above would box every sum.
    return [size2 === 0 || total === 0 ? null : within2 / total, size12 === 0 || total === 0 ? null : within12 / total];
  },
};
