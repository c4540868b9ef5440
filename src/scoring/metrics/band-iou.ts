import type { Metric } from './metric.js';

/**
 * Per-band intersection over union at the sample's best threshold set (the first one with the highest pixel
 * accuracy A, i.e. index Au1): for band b in 0, 1, 2, |S = b ∧ S0 = b| / |S = b ∨ S0 = b| with S the banded
 * heatmap and S0 the banded ground truth. Undefined (null) when neither has a pixel in band b.
 */
export const bandIou: Metric = {
  name: 'band_iou',
  columns: ['iou_b0', 'iou_b1', 'iou_b2'],
  compute({ confusion, bestIndex }) {
    const counts = confusion(bestIndex);
    return [0, 1, 2].map((b) => {
      const row = b + 2;
      let truthInBand = 0;
      let heatmapInBand = 0;
      for (let other = 0; other < 5; other++) {
        truthInBand += counts[row * 5 + other]!;
        heatmapInBand += counts[other * 5 + row]!;
      }
      const intersection = counts[row * 5 + row]!;
      const union = truthInBand + heatmapInBand - intersection;
      return union === 0 ? null : intersection / union;
    });
  },
};
