import { REGIONS, type Metric } from './metric.js';

/**
 * Relevance rank accuracy (Arras, Osman & Samek, CLEVR-XAI, Information Fusion 2022; Quantus'
 * RelevanceRankAccuracy): with K = the region's pixel count, the share of the K highest-relevance pixels
 * that lie inside the region, |top-K ∩ GT| / K. Ties at the K-th value are resolved by expectation rather
 * than by an arbitrary sort order (Quantus uses np.argsort): with τ the K-th largest value, pixels above τ
 * count fully and the K − #(v > τ) remaining places are shared among the pixels equal to τ in proportion to
 * how many of them lie in the region. Deterministic, and equal to Quantus whenever there is no tie at τ.
 * Columns `_b2` (0.9 band) and `_b12` (0.4 ∪ 0.9). Undefined (null) for an empty region.
 */
export const relevanceRankAccuracy: Metric = {
  name: 'relevance_rank_accuracy',
  columns: REGIONS.map((r) => `rank_accuracy_${r.suffix}`),
  compute({ adjusted, truth }) {
    let descending: Float64Array | null = null;
    return REGIONS.map((region) => {
      let k = 0;
      for (let i = 0; i < truth.length; i++) if (region.contains(truth[i]!)) k++;
      if (k === 0) return null;
      descending ??= adjusted.slice().sort().reverse();
      const tau = descending[k - 1]!;
      let above = 0;
      let tied = 0;
      let aboveInRegion = 0;
      let tiedInRegion = 0;
      for (let i = 0; i < adjusted.length; i++) {
        const v = adjusted[i]!;
        const inRegion = region.contains(truth[i]!);
        if (v > tau) {
          above++;
          if (inRegion) aboveInRegion++;
        } else if (v === tau) {
          tied++;
          if (inRegion) tiedInRegion++;
        }
      }
      return (aboveInRegion + ((k - above) * tiedInRegion) / tied) / k;
    });
  },
};
