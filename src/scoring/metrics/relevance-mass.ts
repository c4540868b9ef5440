import { REGIONS, type Metric } from './metric.js';

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
  columns: REGIONS.map((r) => `mass_accuracy_${r.suffix}`),
  compute({ adjusted, truth }) {
    let total = 0;
    for (let i = 0; i < adjusted.length; i++) if (adjusted[i]! > 0) total += adjusted[i]!;
    return REGIONS.map((region) => {
      let regionSize = 0;
      let within = 0;
      for (let i = 0; i < adjusted.length; i++) {
        if (!region.contains(truth[i]!)) continue;
        regionSize++;
        if (adjusted[i]! > 0) within += adjusted[i]!;
      }
      return regionSize === 0 || total === 0 ? null : within / total;
    });
  },
};
