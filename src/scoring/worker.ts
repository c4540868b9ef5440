import { NonFiniteHeatmapError, type HeatmapData } from './adjust.js';
import { FivebandScorer, type SampleScores } from './fiveband.js';
import { resolveMetrics } from './metrics/index.js';
import type { ScoreSetting } from './settings.js';

/** One worker task: `count` consecutive samples and their ground truth (views on shared staging buffers). */
export interface ScoreChunkTask {
  setting: ScoreSetting;
  height: number;
  width: number;
  channels: number;
  count: number;
  heatmap: HeatmapData;
  truth: Int8Array;
  metrics: string[];
}

let cached: { key: string; scorer: FivebandScorer } | null = null;

/** Piscina entry point: scores a chunk; null for a heatmap with NaN/Inf. */
export default function scoreChunk(task: ScoreChunkTask): Array<SampleScores | null> {
  const key = JSON.stringify([task.setting, task.height, task.width]);
  if (cached?.key !== key) cached = { key, scorer: new FivebandScorer(task.setting, task.height, task.width) };
  const metrics = resolveMetrics(task.metrics);
  const pixels = task.height * task.width;
  const out: Array<SampleScores | null> = [];
  for (let k = 0; k < task.count; k++) {
    try {
      out.push(cached.scorer.score(task.heatmap, k * task.channels * pixels, task.channels, task.truth, k * pixels, metrics));
    } catch (err) {
      if (!(err instanceof NonFiniteHeatmapError)) throw err;
      out.push(null);
    }
  }
  return out;
}
