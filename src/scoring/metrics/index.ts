import { UserError } from '../../io/index.js';
import { bandIou } from './band-iou.js';
import type { Metric } from './metric.js';
import { pointingGame } from './pointing-game.js';
import { relevanceMassAccuracy } from './relevance-mass.js';
import { relevanceRankAccuracy } from './relevance-rank.js';

export type { Metric, MetricContext } from './metric.js';
export { REGION_SUFFIXES } from './metric.js';

/** The extra metrics, by name. A new metric is one file plus one entry here. */
export const METRICS: readonly Metric[] = [pointingGame, relevanceMassAccuracy, relevanceRankAccuracy, bandIou];

/** Metrics by name ('all' for every one); unknown names are a UserError listing the known ones. */
export function resolveMetrics(names: 'all' | readonly string[]): Metric[] {
  if (names === 'all') return [...METRICS];
  return names.map((name) => {
    const metric = METRICS.find((m) => m.name === name);
    if (!metric) throw new UserError(`unknown metric "${name}" (known: ${METRICS.map((m) => m.name).join(', ')})`);
    return metric;
  });
}
