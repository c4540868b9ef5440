import { join } from 'node:path';
import { openDataset, resizeBands, type Split } from '../data/index.js';
import { UserError, readSafetensors } from '../io/index.js';
import type { Arch } from '../nn/index.js';
import {
  PRESETS, resolveMetrics, scoreHeatmaps, toTruthBands, writeOutputs,
  type SampleLabels, type SampleScores, type ScoreSummaryFile,
} from '../scoring/index.js';
import { ATTRIBUTIONS_DIR, attributionFile, type ExplainProgress } from './explain.js';

/**
 * The score settings the paper used for a method's heatmaps (spec §3.5): V1 classifiers (AlexNet, VGG,
 * ResNet) with `v1` and `v1-clamp`; Captum methods on SPA with `v2`; the decoded mab heatmap with `mab`.
 */
export function paperPresets(arch: Arch, method: string): string[] {
  if (method === 'mab') return ['mab'];
  return arch === 'spa' ? ['v2'] : ['v1', 'v1-clamp'];
}

/**
 * Ground-truth bands at the heatmaps' size. When the model ran on resized images, the 0 / 0.4 / 0.9 ground
 * truth is resized the same way and re-banded at [-0.7, -0.3, 0.3, 0.7], as the reference does (spec §3.1).
 */
function truthBands(bands: Uint8Array, n: number, size: number, target: number): Int8Array {
  return toTruthBands(resizeBands(bands, n, size, target));
}

export interface ScoreAttributionsOptions {
  outDir: string;
  dataDir: string;
  split: Split;
  arch: Arch;
  methods: readonly string[];
  workers: number;
  onProgress?: ExplainProgress;
}

/**
 * Scores the attributions `explainDataset` wrote against the dataset's ground truth with the paper's
 * presets and writes, per preset, the scoring stage's outputs into `<out>/scores/<preset>/` (per-method
 * V1 CSVs with true / predicted classes, ROC CSVs, the long CSV, extra metrics, summary.json).
 */
export async function scoreAttributions(options: ScoreAttributionsOptions): Promise<Array<{ preset: string; paths: string[]; summary: ScoreSummaryFile }>> {
  const dataset = await openDataset(options.dataDir);
  const shards = dataset.shards[options.split];
  const presets = [...new Set(options.methods.flatMap((m) => paperPresets(options.arch, m)))];
  const metrics = resolveMetrics('all');
  const totalSamples = shards.reduce((s, r) => s + r.samples, 0);
  const total = options.methods.reduce((s, m) => s + paperPresets(options.arch, m).length, 0) * totalSamples;
  let done = 0;
  const results: Array<{ preset: string; paths: string[]; summary: ScoreSummaryFile }> = [];
  for (const preset of presets) {
    const setting = PRESETS[preset]!;
    const ids: string[] = [];
    let labels: SampleLabels[] = [];
    const methods: Array<{ method: string; scores: SampleScores[] }> = [];
    for (const method of options.methods.filter((m) => paperPresets(options.arch, m).includes(preset))) {
      const scores: SampleScores[] = [];
      const methodLabels: SampleLabels[] = [];
      const methodIds: string[] = [];
      for (const ref of shards) {
        const file = join(options.outDir, ATTRIBUTIONS_DIR, attributionFile(method, ref.index));
        const [stored, shard] = await Promise.all([readSafetensors(file), dataset.readShard(options.split, ref.index)]);
        const tensor = stored.tensors.attributions;
        if (!tensor || tensor.dtype !== 'F32' || tensor.shape.length !== 4) throw new UserError(`${file}: no float32 n×C×H×W "attributions" tensor; rerun explain`);
        const [n, channels, height, width] = tensor.shape as [number, number, number, number];
        const heatmaps = { data: tensor.data as Float32Array, n, channels, height, width };
        const shardIds = JSON.parse(stored.metadata.ids ?? '[]') as string[];
        const predicted = JSON.parse(stored.metadata.predicted ?? '[]') as number[];
        if (shardIds.join('\n') !== shard.ids.join('\n')) throw new UserError(`${file}: its sample ids are not those of ${ref.path}; rerun explain`);
        const first = done;
        const part = await scoreHeatmaps(heatmaps, { bands: truthBands(shard.bands, shard.n, shard.size, height), n: shard.n, height, width }, {
          setting, metrics: metrics.map((m) => m.name), workers: options.workers,
          onProgress: (k) => options.onProgress?.(first + k, total, `score ${preset} ${method}`),
        });
        done += shard.n;
        scores.push(...part);
        methodIds.push(...shardIds);
        shard.labels.forEach((y0, i) => methodLabels.push({ y0, yPred: predicted[i] ?? null }));
      }
      if (ids.length === 0) {
        ids.push(...methodIds);
        labels = methodLabels;
      }
      methods.push({ method, scores });
    }
    const dir = join(options.outDir, 'scores', preset);
    const written = await writeOutputs(dir, { setting, ids, labels, methods, metricColumns: metrics.flatMap((m) => m.columns) });
    results.push({ preset, ...written });
  }
  return results;
}
