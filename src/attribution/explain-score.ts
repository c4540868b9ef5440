import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openDataset, type Split } from '../data/index.js';
import type { Arch } from '../nn/index.js';
import { PRESETS, runScore, type ScoreSummaryFile } from '../scoring/index.js';
import { ATTRIBUTIONS_DIR, attributionFile, type ExplainProgress } from './explain.js';

/**
 * The score settings the paper used for a method's heatmaps (spec §3.5): V1 classifiers (AlexNet, VGG,
 * ResNet) with `v1` and `v1-clamp`; Captum methods on SPA with `v2`; the decoded mab heatmap with `mab`.
 */
export function paperPresets(arch: Arch, method: string): string[] {
  if (method === 'mab') return ['mab'];
  return arch === 'spa' ? ['v2'] : ['v1', 'v1-clamp'];
}

export interface ScoreAttributionsOptions {
  outDir: string;
  dataDir: string;
  split: Split;
  arch: Arch;
  methods: readonly string[];
  workers: number;
  /** Only the split's first `limit` samples were explained (explain's `limit`); default: the limit in the attributions' manifest, if any. */
  limit?: number;
  onProgress?: ExplainProgress;
}

/**
 * Scores the attributions `explainDataset` wrote against the dataset's ground truth with the paper's
 * presets and writes, per preset, the scoring stage's outputs into `<out>/scores/<preset>/` (per-method
 * V1 CSVs with true / predicted classes, ROC CSVs, the long CSV, extra metrics, summary.json) with the scoring
 * stage's runScore. Attributions of a model that ran on resized images are scored against the ground truth
 * resized the same way and re-banded at [-0.7, -0.3, 0.3, 0.7], as the reference does (spec §3.1).
 */
export async function scoreAttributions(options: ScoreAttributionsOptions): Promise<Array<{ preset: string; paths: string[]; summary: ScoreSummaryFile }>> {
  const dataset = await openDataset(options.dataDir);
  const limit = options.limit ?? (await explainedLimit(options.outDir));
  // The shards holding the first `limit` samples (explain writes one file per shard and method).
  const shards: number[] = [];
  let samples = 0;
  for (const ref of dataset.shards[options.split]) {
    if (samples >= (limit ?? Infinity)) break;
    shards.push(ref.index);
    samples += ref.samples;
  }
  const totalSamples = Math.min(samples, limit ?? Infinity);
  const presets = [...new Set(options.methods.flatMap((m) => paperPresets(options.arch, m)))];
  const total = options.methods.reduce((s, m) => s + paperPresets(options.arch, m).length, 0) * totalSamples;
  let finished = 0;
  const results: Array<{ preset: string; paths: string[]; summary: ScoreSummaryFile }> = [];
  for (const preset of presets) {
    const methods = options.methods.filter((m) => paperPresets(options.arch, m).includes(preset));
    const done = new Map<string, number>();
    const { paths, summary } = await runScore({
      heatmaps: methods.map((method) => ({ method, files: shards.map((shard) => join(options.outDir, ATTRIBUTIONS_DIR, attributionFile(method, shard))) })),
      truth: { dataDir: options.dataDir, split: options.split, ...(limit === undefined ? {} : { limit }) },
      out: join(options.outDir, 'scores', preset),
      setting: PRESETS[preset]!,
      metrics: 'all',
      workers: options.workers,
      tensor: 'attributions',
      onProgress: (method, k) => {
        done.set(method, k);
        options.onProgress?.(finished + [...done.values()].reduce((a, b) => a + b, 0), total, `score ${preset} ${method}`);
      },
    });
    finished += methods.length * totalSamples;
    results.push({ preset, paths, summary });
  }
  return results;
}

/** The `limit` recorded in `<out>/attributions/manifest.json` by explainDataset (undefined: none, or no manifest). */
async function explainedLimit(outDir: string): Promise<number | undefined> {
  try {
    const manifest = JSON.parse(await readFile(join(outDir, ATTRIBUTIONS_DIR, 'manifest.json'), 'utf8')) as { config?: { limit?: unknown } };
    const limit = manifest.config?.limit;
    return typeof limit === 'number' ? limit : undefined;
  } catch {
    return undefined;
  }
}
