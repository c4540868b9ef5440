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
    // One pass: whether some pixel at the running maximum lies in each region, restarted at every new maximum.
    let max = -Infinity;
    let min = Infinity;
    let size2 = 0;
    let size12 = 0;
    let hit2 = false;
    let hit12 = false;
    for (let i = 0; i < adjusted.length; i++) {
      const v = adjusted[i]!;
      const t = truth[i]!;
      if (t >= 1) {
        size12++;
        if (t === 2) size2++;
      }
      min = Math.min(min, v);
      if (v > max) {
        max = v;
        hit12 = t >= 1;
        hit2 = t === 2;
      } else if (v === max && t >= 1) {
        hit12 = true;
        hit2 ||= t === 2;
      }
    }
    const pointsSomewhere = max > min;
    return [
      size2 === 0 ? null : hit2 && pointsSomewhere ? 1 : 0,
      size12 === 0 ? null : hit12 && pointsSomewhere ? 1 : 0,
    ];
  },
};
