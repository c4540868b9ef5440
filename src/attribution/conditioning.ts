import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { ensure, lockFolder, makeFolder, writeFileAtomic } from '../io/index.js';
import { loadModel, type Model } from '../nn/index.js';
import { initBackend } from '../compute/index.js';
import { csvField, csvFloat, csvLine, FivebandScorer, presetSetting, summariseSample, toTruthBands } from '../scoring/index.js';
import { Rng } from '../rng/index.js';
import { predictedClasses } from './common.js';
import { paperPresets } from './explain-score.js';
import { resolveMethods } from './registry.js';
import { channelSums, firstSamples, type ModelCheckOptions } from './sanity.js';
import type { Attribution } from './types.js';

/**
 * Conditioning: how much of a heatmap is floating-point rounding? On the cells' flat backgrounds max-pool windows
 * hold exactly or nearly tied maxima, and which element receives the gradient then depends on rounding. Each
 * method's maps of the same samples are compared under two rounding-level changes: every input value moved by
 * one ulp (up or down, seeded per element), and each sample explained alone (batch 1) instead of in one batch
 * of all samples. Reported per method: the relative L2 change of the maps (channel sums) and of the five-band
 * scores, and the share of samples whose Rmu or Pmu moves by more than 0.01.
 */
/** The seed also draws the ulp directions. */
export type ConditioningOptions = ModelCheckOptions;

export type Perturbation = 'one-ulp' | 'batch-1';

export interface ConditioningRow {
  method: string;
  perturbation: Perturbation;
  preset: string;
  samples: number;
  /** Median and largest relative L2 change of a sample's map, ‖a − b‖ / max(‖a‖, ‖b‖) (0 when both are zero). */
  map_rel_l2_median: number;
  map_rel_l2_max: number;
  /** Largest |change| of a sample's Rmu and Pmu. */
  rmu_change_max: number;
  pmu_change_max: number;
  /** Share of samples whose Rmu (or Pmu) moves by more than MOVE_TOLERANCE. */
  rmu_moved: number;
  pmu_moved: number;
}

export interface ConditioningResult {
  format: 'fiveband-conditioning/1';
  model: string;
  samples: number;
  tolerance: number;
  rows: ConditioningRow[];
  /** Methods whose Rmu or Pmu moves by more than the tolerance on more than DOMINATED_SHARE of the samples under either change. */
  dominated: string[];
}

/** A score change below this is noise for a reader (scores are quoted to 2–3 decimals). */
export const MOVE_TOLERANCE = 0.01;
/** A method is "dominated by rounding" when more than this share of its samples move by more than the tolerance. */
export const DOMINATED_SHARE = 0.25;

/** x moved by one ulp of float32, up or down. */
function ulpStep(x: number, up: boolean): number {
  ULP_FLOAT[0] = x;
  if (x === 0) ULP_BITS[0] = up ? 1 : -2147483647; // the smallest subnormal, + or −
  else ULP_BITS[0]! += (x > 0) === up ? 1 : -1;
  return ULP_FLOAT[0]!;
}
/** One float32 and its bits, reused by every step (no allocation per value). */
const ULP_FLOAT = new Float32Array(1);
const ULP_BITS = new Int32Array(ULP_FLOAT.buffer);

/** Every element moved one ulp, the direction drawn per element from a seeded stream. */
export function oneUlpPerturbation(values: Float32Array, seed: number): Float32Array {
  const rng = Rng.derive(seed, 'conditioning', 'ulp');
  return values.map((v) => ulpStep(v, rng.next() < 0.5));
}

/** ‖a − b‖ / max(‖a‖, ‖b‖): in [0, 2], finite where one map is all zero (an edge map of a flat image), 0 when both are. */
function relativeL2(a: Float64Array, b: Float64Array): number {
  let diff = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i]! - b[i]!) ** 2;
    normA += a[i]! ** 2;
    normB += b[i]! ** 2;
  }
  const norm = Math.max(normA, normB);
  return norm === 0 ? 0 : Math.sqrt(diff / norm);
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export async function runConditioning(options: ConditioningOptions): Promise<ConditioningResult> {
  const limit = options.limit ?? 16;
  ensure(Number.isInteger(limit) && limit >= 2, `--limit must be an integer >= 2, got ${limit}`);
  const seed = options.seed ?? 0;
  await initBackend(options.backend ?? 'wasm');
  const model = await loadModel(options.modelDir);
  await makeFolder(options.out);
  const release = await lockFolder(options.out);
  try {
    return await conditioningOf(options, model, limit, seed);
  } finally {
    await release();
    model.dispose();
  }
}

async function conditioningOf(options: ConditioningOptions, model: Model, limit: number, seed: number): Promise<ConditioningResult> {
  const size = model.spec.inputSize;
  const pixels = size * size;
  const { images, truth, ids } = await firstSamples(options.dataDir, options.split ?? 'test', limit, size);
  const truthBands = toTruthBands(truth);
  const methods = resolveMethods(options.methods ?? 'all', model);
  const x = tf.tensor4d(images, [limit, size, size, 3]);
  const nudged = tf.tensor4d(oneUlpPerturbation(images, seed), [limit, size, size, 3]);
  // Every version explains the unperturbed input's predicted class, so only the maps can move.
  const targets = predictedClasses(model, x);
  const rows: ConditioningRow[] = [];
  const total = methods.length * 3;
  let done = 0;
  try {
    for (const method of methods) {
      const common = { seed, steps: options.steps, sampleKeys: ids, truth };
      const progress = (what: string) => options.onProgress?.(++done, total, `${method.name} ${what}`);
      const reference = method.attribute(model, x, targets, { ...common, internalBatchSize: limit });
      progress('batch');
      const ulp = method.attribute(model, nudged, targets, { ...common, internalBatchSize: limit });
      progress('one ulp');
      const single: Attribution = { data: new Float32Array(reference.data.length), shape: reference.shape };
      const perSample = reference.data.length / limit;
      for (let i = 0; i < limit; i++) {
        const xi = tf.slice(x, [i], [1]) as tf.Tensor4D;
        try {
          const alone = method.attribute(model, xi, [targets[i]!], { ...common, sampleKeys: [ids[i]!], truth: truth.subarray(i * pixels, (i + 1) * pixels), internalBatchSize: 1 });
          single.data.set(alone.data, i * perSample);
        } finally {
          xi.dispose();
        }
      }
      progress('batch 1');
      const preset = paperPresets(model.spec.arch, method.name)[0]!;
      const scorer = new FivebandScorer(presetSetting(preset), size, size);
      const channels = reference.shape[1];
      const scoresOf = (a: Attribution) => ids.map((_, i) => summariseSample(scorer.score(a.data, i * channels * pixels, channels, truthBands, i * pixels)));
      const base = scoresOf(reference);
      const baseMaps = channelSums(reference.data, limit, channels, pixels);
      for (const [perturbation, other] of [['one-ulp', ulp], ['batch-1', single]] as const) {
        const maps = channelSums(other.data, limit, channels, pixels);
        const scores = scoresOf(other);
        const l2 = baseMaps.map((m, i) => relativeL2(m, maps[i]!));
        const dR = base.map((s, i) => Math.abs(s.Rmu - scores[i]!.Rmu));
        const dP = base.map((s, i) => Math.abs(s.Pmu - scores[i]!.Pmu));
        rows.push({
          method: method.name, perturbation, preset, samples: limit,
          map_rel_l2_median: median(l2), map_rel_l2_max: Math.max(...l2),
          rmu_change_max: Math.max(...dR), pmu_change_max: Math.max(...dP),
          rmu_moved: dR.filter((d) => d > MOVE_TOLERANCE).length / limit,
          pmu_moved: dP.filter((d) => d > MOVE_TOLERANCE).length / limit,
        });
      }
    }
  } finally {
    tf.dispose([x, nudged]);
  }
  const dominated = [...new Set(rows.filter((r) => r.rmu_moved > DOMINATED_SHARE || r.pmu_moved > DOMINATED_SHARE).map((r) => r.method))];
  const result: ConditioningResult = { format: 'fiveband-conditioning/1', model: options.modelDir, samples: limit, tolerance: MOVE_TOLERANCE, rows, dominated };
  const columns = ['method', 'perturbation', 'preset', 'samples', 'map_rel_l2_median', 'map_rel_l2_max', 'rmu_change_max', 'pmu_change_max', 'rmu_moved', 'pmu_moved'] as const;
  await writeFileAtomic(join(options.out, 'conditioning.csv'), [csvLine([...columns]), ...rows.map((r) => csvLine([
    csvField(r.method), r.perturbation, r.preset, String(r.samples),
    ...columns.slice(4).map((c) => csvFloat(r[c] as number)),
  ]))].join(''));
  await writeFileAtomic(join(options.out, 'conditioning.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
