import { REGION_SUFFIXES, type Metric } from './metric.js';

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
  columns: REGION_SUFFIXES.map((r) => `pointing_game_${r}`),
  compute({ adjusted, truth }) {
    let max = -Infinity;
    let min = Infinity;
    for (let i = 0; i < adjusted.length; i++) {
      max = Math.max(max, adjusted[i]!);
      min = Math.min(min, adjusted[i]!);
    }
    let size2 = 0;
    let size12 = 0;
    let hit2 = false;
    let hit12 = false;
    for (let i = 0; i < adjusted.length; i++) {
      const t = truth[i]!;
      if (t < 1) continue;
      const atMax = adjusted[i] === max;
      size12++;
      hit12 ||= atMax;
      if (t === 2) {
        size2++;
        hit2 ||= atMax;
      }
    }
    const pointsSomewhere = max > min;
    return [
      size2 === 0 ? null : hit2 && pointsSomewhere ? 1 : 0,
      size12 === 0 ? null : hit12 && pointsSomewhere ? 1 : 0,
    ];
  },
};
