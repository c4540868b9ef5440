import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { bandsToGroundTruth, imageToFloat, openDataset, resizeBands, resizeImages, type Split } from '../data/index.js';
import { canonicalJson, encodeSafetensors, ensure, lockFolder, makeFolder, UserError, writeFileAtomic } from '../io/index.js';
import { createModel, loadModel, type Model } from '../nn/index.js';
import { initBackend, type BackendName } from '../compute/index.js';
import { csvField, csvFloat, csvLine, presetSetting, runScore, spearman, ssim, type ScoreSummaryFile } from '../scoring/index.js';
import { predictedClasses } from './common.js';
import { paperPresets } from './explain-score.js';
import { resolveMethods } from './registry.js';
import type { AttributionMethod } from './types.js';

/**
 * Sanity checks (Adebayo et al., "Sanity Checks for Saliency Maps", 2018): do a method's heatmaps depend on the
 * model? The model's layers are replaced by freshly initialised ones — cascading from the top (logits) down, and
 * one layer at a time (independent) — and each method's heatmaps of the randomised model are compared with the
 * trained model's (Spearman rank correlation of |map| and of the signed map, SSIM of |map| scaled to [0, 1]) and
 * scored with the five bands. A method whose maps barely change when every layer is random explains the image,
 * not the model.
 */
/** What a check of one model's heatmaps (sanity, conditioning) reads and where it writes. */
export interface ModelCheckOptions {
  modelDir: string;
  dataDir: string;
  out: string;
  split?: Split;
  /** Samples: the split's first k, in shard order (default 16). */
  limit?: number;
  /** Methods as `explain --methods` takes them (default all). */
  methods?: string;
  /** Seed of the attributions' random parts (sanity: the random layers are a fresh initialisation with seed + 1). */
  seed?: number;
  /** IntegratedGradients steps (default 50), as explain takes them. */
  steps?: number;
  backend?: BackendName;
  onProgress?: (done: number, total: number, status: string) => void;
}

export interface SanityOptions extends ModelCheckOptions {
  /** Randomisation depths shown, evenly spaced from the top layer to all layers (default 6). */
  points?: number;
  /** The random-label check: a model of the same spec trained on shuffled labels (`train --shuffle-labels`). */
  randomLabelModel?: string;
}

/** A layer to randomise: a convolution or linear module, with the BatchNorm and biases that follow it. */
interface Unit {
  name: string;
  parameters: string[];
}

/** The `layer` of a random-label step: every layer differs, by training rather than re-initialisation. */
export const RANDOM_LABELS_LAYER = 'all (shuffled-label training)';

/** cascading / independent: layers re-initialised; random-labels: the same architecture trained on shuffled labels. */
export type SanityMode = 'cascading' | 'independent' | 'random-labels';

export interface SanityStep {
  method: string;
  mode: SanityMode;
  /** Layers randomised (cascading: the top `layers`; independent: the layer that many from the top; random-labels: all). */
  layers: number;
  /** The lowest layer randomised (cascading), the one layer (independent), or RANDOM_LABELS_LAYER. */
  layer: string;
  spearman_abs: number | null;
  spearman_signed: number | null;
  ssim_abs: number | null;
  /** Mean five-band recall and precision of the randomised model's heatmaps (the paper's preset for the method). */
  Rmu: number | null;
  Pmu: number | null;
}

export interface SanityResult {
  format: 'fiveband-sanity/1';
  model: string;
  samples: number;
  layers: string[];
  /** Trained model's mean recall and precision per method (same preset). */
  trained: Record<string, { Rmu: number | null; Pmu: number | null; preset: string }>;
  steps: SanityStep[];
  /** Methods whose maps keep a mean Spearman |map| correlation ≥ 0.5 with every layer random. */
  insensitive: string[];
  /** The random-label check's model folder, when run. */
  randomLabelModel?: string;
}

/** Parameter groups in forward order: each rank ≥ 2 weight starts a layer; biases and BatchNorm join the last one. */
export function randomisableLayers(model: Model): Unit[] {
  const units: Unit[] = [];
  for (const [name, variable] of model.trainable) {
    const module = name.slice(0, name.lastIndexOf('.'));
    if (variable.rank >= 2 || units.length === 0) units.push({ name: module, parameters: [] });
    units.at(-1)!.parameters.push(name);
  }
  return units;
}

/** Evenly spaced depths 1 … total (both ends included), at most `points` of them. */
export function depthsToShow(total: number, points: number): number[] {
  if (total <= points) return Array.from({ length: total }, (_, i) => i + 1);
  return [...new Set(Array.from({ length: points }, (_, j) => Math.round(1 + (j * (total - 1)) / (points - 1))))];
}

/** Sums the channels of n×c×H×W attributions into n maps of H×W (float64). */
export function channelSums(data: Float32Array, n: number, channels: number, pixels: number): Float64Array[] {
  return Array.from({ length: n }, (_, i) => {
    const map = new Float64Array(pixels);
    for (let c = 0; c < channels; c++) for (let p = 0; p < pixels; p++) map[p] = map[p]! + data[(i * channels + c) * pixels + p]!;
    return map;
  });
}

/** |map| divided by its max (all zeros stay zeros): the maps Adebayo et al. compare. */
function scaledAbs(map: Float64Array): Float64Array {
  const a = map.map(Math.abs);
  const max = a.reduce((s, v) => Math.max(s, v), 0);
  return max > 0 ? a.map((v) => v / max) : a;
}

const mean = (values: Array<number | null>) => {
  const defined = values.filter((v): v is number => v !== null);
  return defined.length === 0 ? null : defined.reduce((s, v) => s + v, 0) / defined.length;
};

/**
 * The split's first `limit` samples, in shard order, resized to the model's input as explain does: images
 * (limit × N × N × 3 in [0, 1]), the ground truth the scores use (limit × N × N, 0 / 0.4 / 0.9) and the ids.
 */
export async function firstSamples(dataDir: string, split: Split, limit: number, size: number): Promise<{ images: Float32Array; truth: Float32Array; ids: string[] }> {
  const dataset = await openDataset(dataDir);
  const pixels = size * size;
  const images = new Float32Array(limit * pixels * 3);
  const truth = new Float32Array(limit * pixels);
  const ids: string[] = [];
  for (const ref of dataset.shards[split]) {
    if (ids.length >= limit) break;
    const shard = await dataset.readShard(split, ref.index);
    const take = Math.min(shard.n, limit - ids.length);
    const dataPx = shard.size * shard.size;
    images.set(resizeImages(imageToFloat(shard.images.subarray(0, take * dataPx * 3)), take, shard.size, size, 3), ids.length * pixels * 3);
    truth.set(bandsToGroundTruth(resizeBands(shard.bands.subarray(0, take * dataPx), take, shard.size, size)), ids.length * pixels);
    ids.push(...shard.ids.slice(0, take));
  }
  if (ids.length < limit) throw new UserError(`${dataDir}: split ${split} has ${ids.length} samples, --limit asks for ${limit}`);
  return { images, truth, ids };
}

export async function runSanity(options: SanityOptions): Promise<SanityResult> {
  const limit = options.limit ?? 16;
  ensure(Number.isInteger(limit) && limit >= 2, `--limit must be an integer >= 2, got ${limit}`);
  const points = options.points ?? 6;
  ensure(Number.isInteger(points) && points >= 2, `--points must be an integer >= 2, got ${points}`);
  const seed = options.seed ?? 0;
  const split = options.split ?? 'test';
  await initBackend(options.backend ?? 'wasm');
  const model = await loadModel(options.modelDir);
  const random = createModel(model.spec, seed + 1);
  let shuffled: Model | null = null;
  try {
    if (options.randomLabelModel !== undefined) {
      shuffled = await loadModel(options.randomLabelModel);
      ensure(canonicalJson(shuffled.spec) === canonicalJson(model.spec), `${options.randomLabelModel}: the random-label model must have ${options.modelDir}'s architecture (arch.json)`);
    }
    await makeFolder(options.out);
    const release = await lockFolder(options.out);
    try {
      return await sanityInto(options, model, random, shuffled, { limit, points, seed, split });
    } finally {
      await release();
    }
  } finally {
    model.dispose();
    random.dispose();
    shuffled?.dispose();
  }
}

async function sanityInto(
  options: SanityOptions, model: Model, random: Model, shuffled: Model | null, settings: { limit: number; points: number; seed: number; split: Split },
): Promise<SanityResult> {
  const { limit, points, seed, split } = settings;
  const size = model.spec.inputSize;
  const pixels = size * size;
  const { images, truth, ids } = await firstSamples(options.dataDir, split, limit, size);
  const methods = resolveMethods(options.methods ?? 'all', model);
  const layers = randomisableLayers(model);
  const depths = depthsToShow(layers.length, points);
  const x = tf.tensor4d(images, [limit, size, size, 3]);
  const targets = predictedClasses(model, x); // the trained model's predictions are explained at every step
  const original = new Map<string, tf.Tensor>([...model.trainable].map(([name, v]) => [name, v.clone()]));
  const setLayers = (chosen: Unit[], from: 'random' | 'trained') => {
    for (const unit of chosen) {
      for (const name of unit.parameters) model.trainable.get(name)!.assign(from === 'random' ? random.trainable.get(name)! : original.get(name)!);
    }
  };
  const total = methods.length * (1 + 2 * depths.length + (shuffled ? 1 : 0));
  let done = 0;
  const heatmapsDir = join(options.out, 'heatmaps');
  const attributionsOf = async (method: AttributionMethod, name: string, explained = model) => {
    const result = method.attribute(explained, x, targets, { seed, steps: options.steps, sampleKeys: ids, truth });
    const [, channels] = result.shape;
    await writeFileAtomic(join(heatmapsDir, `${name}.safetensors`), encodeSafetensors(
      { attributions: { dtype: 'F32', shape: result.shape, data: result.data } },
      { method: name, ids: JSON.stringify(ids), predicted: JSON.stringify(targets) },
    ));
    options.onProgress?.(++done, total, name);
    return channelSums(result.data, limit, channels, pixels);
  };
  /** A step: the mean agreement of its maps with the trained model's (Rmu / Pmu filled in when scored). */
  const compared = (trainedMaps: { signed: Float64Array[]; abs: Float64Array[] }, method: string, mode: SanityMode, k: number, layer: string, maps: Float64Array[]): SanityStep => {
    const perSample = maps.map((map, i) => {
      const randomAbs = scaledAbs(map);
      return {
        spearmanAbs: spearman(trainedMaps.abs[i]!, randomAbs),
        spearmanSigned: spearman(trainedMaps.signed[i]!, map),
        ssimAbs: size >= 11 ? ssim(trainedMaps.abs[i]!, randomAbs, size, size) : null,
      };
    });
    return {
      method, mode, layers: k, layer,
      spearman_abs: mean(perSample.map((s) => s.spearmanAbs)),
      spearman_signed: mean(perSample.map((s) => s.spearmanSigned)),
      ssim_abs: mean(perSample.map((s) => s.ssimAbs)),
      Rmu: null, Pmu: null,
    };
  };
  const steps: SanityStep[] = [];
  const scoreNames: Array<{ name: string; method: string; step: SanityStep | null }> = [];
  try {
    for (const method of methods) {
      const trained = await attributionsOf(method, `${method.name}.trained`);
      const trainedMaps = { signed: trained, abs: trained.map(scaledAbs) }; // compared with every randomised step
      scoreNames.push({ name: `${method.name}.trained`, method: method.name, step: null });
      for (const mode of ['cascading', 'independent'] as const) {
        for (const k of depths) {
          const chosen = mode === 'cascading' ? layers.slice(layers.length - k) : [layers[layers.length - k]!];
          setLayers(chosen, 'random');
          const name = `${method.name}.${mode}-${k}`;
          const maps = await attributionsOf(method, name).finally(() => setLayers(chosen, 'trained'));
          const step = compared(trainedMaps, method.name, mode, k, chosen[0]!.name, maps);
          steps.push(step);
          scoreNames.push({ name, method: method.name, step });
        }
      }
      if (shuffled) {
        // The trained model's predictions are explained on the random-label model too, as at every other step.
        const name = `${method.name}.random-labels`;
        const step = compared(trainedMaps, method.name, 'random-labels', layers.length, RANDOM_LABELS_LAYER, await attributionsOf(method, name, shuffled));
        steps.push(step);
        scoreNames.push({ name, method: method.name, step });
      }
    }
  } finally {
    x.dispose();
    for (const t of original.values()) t.dispose();
  }
  // Five-band scores of every map set, with the paper's preset for the method on this architecture.
  const trained: SanityResult['trained'] = {};
  const byPreset = new Map<string, typeof scoreNames>();
  for (const entry of scoreNames) {
    const preset = paperPresets(model.spec.arch, entry.method)[0]!;
    byPreset.set(preset, [...(byPreset.get(preset) ?? []), entry]);
  }
  for (const [preset, entries] of byPreset) {
    const { summary } = await runScore({
      heatmaps: entries.map((e) => ({ method: e.name, files: [join(heatmapsDir, `${e.name}.safetensors`)] })),
      truth: { dataDir: options.dataDir, split, limit },
      out: join(options.out, 'scores', preset),
      setting: presetSetting(preset),
      metrics: [],
      long: false,
    });
    for (const e of entries) {
      const all = (summary as ScoreSummaryFile).methods[e.name]!.groups.all.mean;
      if (e.step) Object.assign(e.step, { Rmu: all.Rmu ?? null, Pmu: all.Pmu ?? null });
      else trained[e.method] = { Rmu: all.Rmu ?? null, Pmu: all.Pmu ?? null, preset };
    }
  }
  const insensitive = methods.map((m) => m.name).filter((name) => {
    const full = steps.find((s) => s.method === name && s.mode === 'cascading' && s.layers === layers.length);
    return full?.spearman_abs !== null && full?.spearman_abs !== undefined && full.spearman_abs >= 0.5;
  });
  const result: SanityResult = {
    format: 'fiveband-sanity/1', model: options.modelDir, samples: limit, layers: layers.map((l) => l.name), trained, steps, insensitive,
    ...(options.randomLabelModel !== undefined ? { randomLabelModel: options.randomLabelModel } : {}),
  };
  const header = ['method', 'mode', 'layers', 'layer', 'spearman_abs', 'spearman_signed', 'ssim_abs', 'Rmu', 'Pmu'];
  await writeFileAtomic(join(options.out, 'sanity.csv'), [csvLine(header), ...steps.map((s) => csvLine([
    csvField(s.method), s.mode, String(s.layers), csvField(s.layer), csvFloat(s.spearman_abs), csvFloat(s.spearman_signed), csvFloat(s.ssim_abs), csvFloat(s.Rmu), csvFloat(s.Pmu),
  ]))].join(''));
  await writeFileAtomic(join(options.out, 'sanity.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
