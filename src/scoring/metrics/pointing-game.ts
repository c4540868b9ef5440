import { REGIONS, type Metric } from './metric.js';

/**
 * Pointing game (Zhang et al., "Top-down neural attention by excitation backprop", IJCV 2018; as in Quantus'
 * PointingGame): 1 if a pixel holding the maximum of the adjusted heatmap lies in the ground-truth region,
 * else 0; with ties for the maximum, any of them counts (Quantus: `np.any(s[argwhere(a == max(a))])`).
 * Columns for the 0.9 band (`_b2`) and for the 0.4 ∪ 0.9 region (`_b12`).
 * Undefined (null) when the region is empty (Quantus returns NaN). Differs from Quantus on a constant map
 * (e.g. all zero): every pixel ties for the maximum, so Quantus counts a hit; here it is 0, since such a map
 * points nowhere.
 */
export const pointingGame: Metric = {
  name: 'pointing_game',
  columns: REGIONS.map((r) => `pointing_game_${r.suffix}`),
  compute({ adjusted, truth }) {
    let max = -Infinity;
    let min = Infinity;
    for (let i = 0; i < adjusted.length; i++) {
      const v = adjusted[i]!;
      if (v > max) max = v;
      if (v < min) min = v;
    }
    return REGIONS.map((region) => {
      let regionSize = 0;
      let hit = false;
      for (let i = 0; i < adjusted.length; i++) {
        if (!region.contains(truth[i]!)) continue;
        regionSize++;
        if (adjusted[i] === max) hit = true;
      }
      if (regionSize === 0) return null;
      return hit && max > min ? 1 : 0;
    });
  },
};
