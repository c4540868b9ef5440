import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { Piscina } from 'piscina';
import { bandsToGroundTruth, openDataset, imageToFloat, resizeBands, resizeImages, type Dataset, type Shard, type Split } from '../data/index.js';
import { UserError, ensure, lockFolder, makeFolder, sha256, sha256File, writeFileAtomic, encodeSafetensors } from '../io/index.js';
import { loadModel, WEIGHTS_FILE, type Model } from '../nn/index.js';
import { initBackend, type BackendName } from '../compute/index.js';
import { predictedClasses } from './common.js';
import { resolveMethods } from './registry.js';
import type { AttributeOptions } from './types.js';

/** Reports `done` of `total` units with a short status (the CLI plugs in its progress bar). */
export type ExplainProgress = (done: number, total: number, status?: string) => void;

export interface ExplainOptions {
  modelDir: string;
  dataDir: string;
  split: Split;
  /** `all` or a comma-separated list of method names. */
  methods: string;
  outDir: string;
  /** Attribute to the predicted class (the reference) or to the true class. */
  target: 'pred' | 'true';
  seed: number;
  /** Worker threads; the output is byte-identical for any count. */
  workers: number;
  /** Samples per attribution call. */
  batch: number;
  /** Rows per forward/backward pass; undefined: automatic (see AttributeOptions). */
  internalBatchSize?: number;
  /** GuidedGradCam layer (default: the model's first convolution). */
  layer?: string;
  /** IntegratedGradients steps (default 50). */
  steps?: number;
  /** GradCam layer (default: the last spatial convolution that feeds the logits). */
  camLayer?: string;
  /** NoiseTunnel copies per sample and noise σ (defaults 5 and 0.15). */
  ntSamples?: number;
  ntStdev?: number;
  /** Occlusion patch side and stride (defaults N/8 and half the patch). */
  occlusionWindow?: number;
  occlusionStride?: number;
  backend: BackendName;
  /**
   * Explain only the split's first `limit` samples (in shard order; the last shard's file then holds only the
   * samples within the limit). Part of the configuration: a run with another limit into the same folder is refused.
   */
  limit?: number;
  onProgress?: ExplainProgress;
}

/** Everything that determines the bytes of an attribution file; a resumed run must match it. */
export interface ExplainConfig {
  format: 'fiveband-attributions/1';
  modelWeightsSha256: string;
  spec: Model['spec'];
  dataset: string;
  split: Split;
  target: 'pred' | 'true';
  seed: number;
  batch: number;
  internalBatchSize: number | 'auto';
  layer: string;
  steps: number;
  backend: BackendName;
  /** Only the split's first `limit` samples (absent: all of them). */
  limit?: number;
  /** Recorded only when given (older configs stay equal): GradCam's layer, NoiseTunnel's copies and σ, Occlusion's patch. */
  camLayer?: string;
  ntSamples?: number;
  ntStdev?: number;
  occlusionWindow?: number;
  occlusionStride?: number;
}

/**
 * The configuration recorded with (and required of) attribution files: the model's weights checksum and spec,
 * the split's shard checksums and every option that changes the bytes. The explain command and the study's
 * explain tasks both build it here.
 */
export async function explainConfig(options: Pick<ExplainOptions, 'modelDir' | 'split' | 'target' | 'seed' | 'batch' | 'internalBatchSize' | 'steps' | 'backend' | 'limit' | 'camLayer' | 'ntSamples' | 'ntStdev' | 'occlusionWindow' | 'occlusionStride'>
  & { spec: Model['spec']; dataset: Dataset; layer: string }): Promise<ExplainConfig> {
  return {
    format: 'fiveband-attributions/1',
    modelWeightsSha256: await sha256File(join(options.modelDir, WEIGHTS_FILE)),
    spec: options.spec,
    dataset: sha256(JSON.stringify(options.dataset.shards[options.split].map((s) => s.sha256))),
    split: options.split,
    target: options.target,
    seed: options.seed,
    batch: options.batch,
    internalBatchSize: options.internalBatchSize ?? 'auto',
    layer: options.layer,
    steps: options.steps ?? 50,
    backend: options.backend,
    ...(options.limit === undefined ? {} : { limit: options.limit }),
    ...(options.camLayer === undefined ? {} : { camLayer: options.camLayer }),
    ...(options.ntSamples === undefined ? {} : { ntSamples: options.ntSamples }),
    ...(options.ntStdev === undefined ? {} : { ntStdev: options.ntStdev }),
    ...(options.occlusionWindow === undefined ? {} : { occlusionWindow: options.occlusionWindow }),
    ...(options.occlusionStride === undefined ? {} : { occlusionStride: options.occlusionStride }),
  };
}

/** `<out>/attributions/manifest.json`: the configuration and the checksum of every finished file. */
interface ExplainManifest {
  config: ExplainConfig;
  files: Record<string, { sha256: string; samples: number }>;
}

export const ATTRIBUTIONS_DIR = 'attributions';
const MANIFEST = 'manifest.json';

/** Path of one output file relative to `<out>/attributions`. */
export function attributionFile(method: string, shard: number): string {
  return `${method}/shard-${String(shard).padStart(4, '0')}.safetensors`;
}

/** One unit of work: one method on one dataset shard. */
export interface ExplainTask {
  modelDir: string;
  dataDir: string;
  outDir: string;
  shard: number;
  method: string;
  config: ExplainConfig;
  /** Samples of the shard to explain, from its first (fewer than the shard's when a limit ends inside it); default: all. */
  samples?: number;
}

export interface ExplainTaskResult {
  file: string;
  sha256: string;
  samples: number;
}

export interface ExplainResult {
  config: ExplainConfig;
  methods: string[];
  /** Samples explained per method (the split's, or its first `limit`). */
  samples: number;
  /** Files written by this run and files found finished and verified. */
  computed: string[];
  skipped: string[];
}

/**
 * Runs the chosen methods over one split of a dataset and writes `<out>/attributions/<method>/shard-NNNN
 * .safetensors` (float32 n × c × N × N at the model's input size N, PyTorch layout; ids, true / predicted /
 * target classes and the configuration in the metadata). Images of another size are resized to N first. Resumable per (shard, method): a file whose checksum the manifest vouches
 * for is skipped; a missing, truncated or altered one is recomputed.
 */
export async function explainDataset(options: ExplainOptions): Promise<ExplainResult> {
  ensure(Number.isInteger(options.workers) && options.workers >= 1, `--workers must be a positive integer, got ${options.workers}`);
  ensure(Number.isInteger(options.batch) && options.batch >= 1, `--batch must be a positive integer, got ${options.batch}`);
  ensure(options.limit === undefined || (Number.isInteger(options.limit) && options.limit >= 1), `--limit must be a positive integer, got ${options.limit}`);
  await initBackend(options.backend);
  const dataset = await openDataset(options.dataDir);
  const model = await loadModel(options.modelDir);
  let config: ExplainConfig;
  let methods: string[];
  try {
    ensure(model.spec.numClasses === dataset.classes,
      `the model has ${model.spec.numClasses} classes but the dataset has ${dataset.classes}`);
    methods = resolveMethods(options.methods, model).map((m) => m.name);
    const layer = options.layer ?? model.firstConv;
    ensure(model.layerNames.includes(layer), `unknown layer "${layer}"; the model's layers are: ${model.layerNames.join(', ')}`);
    ensure(options.camLayer === undefined || model.layerNames.includes(options.camLayer), () => `unknown --cam-layer "${options.camLayer}"; the model's layers are: ${model.layerNames.join(', ')}`);
    ensure(dataset.shards[options.split].length > 0, `${options.dataDir}: the ${options.split} split has no shards`);
    config = await explainConfig({ ...options, spec: model.spec, dataset, layer });
  } finally {
    model.dispose();
  }

  const root = join(options.outDir, ATTRIBUTIONS_DIR);
  const manifest = await readManifest(root, config);
  const tasks: ExplainTask[] = [];
  const skipped: string[] = [];
  let before = 0;
  for (const shard of dataset.shards[options.split]) {
    const samples = Math.min(shard.samples, (options.limit ?? Infinity) - before);
    if (samples <= 0) break;
    before += samples;
    for (const method of methods) {
      const file = attributionFile(method, shard.index);
      if (await verified(root, file, manifest)) skipped.push(file);
      else tasks.push({ modelDir: options.modelDir, dataDir: options.dataDir, outDir: root, shard: shard.index, method, config, samples });
    }
  }
  const total = tasks.reduce((s, t) => s + t.samples!, 0);
  let done = 0;
  const progress = options.onProgress ?? (() => {});
  progress(0, total, `${skipped.length} files already done`);

  // Manifest writes are chained so concurrent completions never interleave.
  let manifestWrites = Promise.resolve();
  const saveManifest = () => {
    manifestWrites = manifestWrites.then(() => writeFileAtomic(join(root, MANIFEST), `${JSON.stringify(manifest, null, 1)}\n`));
    return manifestWrites;
  };
  const record = (result: ExplainTaskResult) => {
    manifest.files[result.file] = { sha256: result.sha256, samples: result.samples };
    return saveManifest();
  };
  await makeFolder(root);
  const release = await lockFolder(root, 2);
  try {
    await saveManifest();

    if (options.workers === 1 || tasks.length <= 1) {
      try {
        for (const task of tasks) {
          const before = done;
          const result = await runExplainTask(task, (n) => progress(before + n, total, `${task.method} shard ${task.shard}`));
          done = before + result.samples;
          await record(result);
        }
      } finally {
        releaseContext();
      }
    } else {
      const pool = new Piscina({ filename: new URL('./explain-worker.js', import.meta.url).href, minThreads: options.workers, maxThreads: options.workers });
      try {
        await Promise.all(tasks.map((task) => pool.run(task).then(async (result: ExplainTaskResult) => {
          done += result.samples;
          progress(done, total, `${task.method} shard ${task.shard}`);
          await record(result);
        })));
      } finally {
        await pool.destroy();
      }
    }
    await manifestWrites;
  } finally {
    await release();
  }
  return { config, methods, samples: before, computed: tasks.map((t) => attributionFile(t.method, t.shard)), skipped };
}

async function readManifest(root: string, config: ExplainConfig): Promise<ExplainManifest> {
  let text: string;
  try {
    text = await readFile(join(root, MANIFEST), 'utf8');
  } catch {
    return { config, files: {} };
  }
  let stored: ExplainManifest;
  try {
    stored = JSON.parse(text) as ExplainManifest;
  } catch {
    throw new UserError(`${join(root, MANIFEST)}: not valid JSON; delete it to start over`);
  }
  const keys = new Set([...Object.keys(config), ...Object.keys(stored.config ?? {})]) as Set<keyof ExplainConfig>;
  const differing = [...keys].filter((k) => JSON.stringify(stored.config?.[k]) !== JSON.stringify(config[k]));
  if (differing.length > 0) {
    throw new UserError(`${root} holds attributions made with a different ${differing.join(', ')}; use another --out or the same settings`);
  }
  return { config, files: stored.files ?? {} };
}

async function verified(root: string, file: string, manifest: ExplainManifest): Promise<boolean> {
  const entry = manifest.files[file];
  if (!entry) return false;
  try {
    await stat(join(root, file));
  } catch {
    return false;
  }
  return (await sha256File(join(root, file))) === entry.sha256;
}

/** Per-thread cache: the model and dataset a worker (or the main thread) is explaining. */
let loaded: { key: string; model: Model; dataset: Dataset } | undefined;

async function context(task: ExplainTask): Promise<{ model: Model; dataset: Dataset }> {
  const key = `${task.modelDir}\0${task.dataDir}\0${task.config.backend}`;
  if (loaded?.key !== key) {
    loaded?.model.dispose();
    await initBackend(task.config.backend);
    loaded = { key, model: await loadModel(task.modelDir), dataset: await openDataset(task.dataDir) };
  }
  return loaded;
}

function releaseContext(): void {
  loaded?.model.dispose();
  loaded = undefined;
}

/** The first `samples` samples of a shard (the shard itself when it has no more). */
function limitShard(shard: Shard, samples: number): Shard {
  if (samples >= shard.n) return shard;
  const px = shard.size * shard.size;
  return {
    ...shard, n: samples, images: shard.images.subarray(0, samples * px * 3), labels: shard.labels.subarray(0, samples),
    bands: shard.bands.subarray(0, samples * px), ids: shard.ids.slice(0, samples), variables: shard.variables.slice(0, samples),
  };
}

/** Computes and writes one (shard, method) file; `onSamples(n)` reports samples done within it. */
export async function runExplainTask(task: ExplainTask, onSamples: (n: number) => void = () => {}): Promise<ExplainTaskResult> {
  const { model, dataset } = await context(task);
  const { config } = task;
  const [method] = resolveMethods(task.method, model);
  const shard = limitShard(await dataset.readShard(config.split, task.shard), task.samples ?? Infinity);
  const size = model.spec.inputSize;
  const px = size * size;
  const dataPx = shard.size * shard.size;
  const options: AttributeOptions = {
    seed: config.seed, layer: config.layer, steps: config.steps, camLayer: config.camLayer, ntSamples: config.ntSamples, ntStdev: config.ntStdev,
    occlusionWindow: config.occlusionWindow, occlusionStride: config.occlusionStride,
    internalBatchSize: config.internalBatchSize === 'auto' ? undefined : config.internalBatchSize,
  };
  const labels = Array.from(shard.labels);
  const predicted: number[] = [];
  const targets: number[] = [];
  let data: Float32Array | undefined;
  let channels = 0;
  for (let start = 0; start < shard.n; start += config.batch) {
    const end = Math.min(shard.n, start + config.batch);
    // Images of another size are resized as the reference feeds AlexNet / VGG (skimage, anti-aliased bilinear).
    const images = resizeImages(imageToFloat(shard.images.subarray(start * dataPx * 3, end * dataPx * 3)), end - start, shard.size, size, 3);
    const x = tf.tensor4d(images, [end - start, size, size, 3]);
    try {
      const batchPredicted = predictedClasses(model, x);
      const batchTargets = config.target === 'pred' ? batchPredicted : labels.slice(start, end);
      const truth = bandsToGroundTruth(resizeBands(shard.bands.subarray(start * dataPx, end * dataPx), end - start, shard.size, size));
      const result = method!.attribute(model, x, batchTargets, { ...options, sampleKeys: shard.ids.slice(start, end), truth });
      channels = result.shape[1];
      data ??= new Float32Array(shard.n * channels * px);
      data.set(result.data, start * channels * px);
      predicted.push(...batchPredicted);
      targets.push(...batchTargets);
    } finally {
      x.dispose();
    }
    onSamples(end);
  }
  const parts = encodeSafetensors(
    { attributions: { dtype: 'F32', shape: [shard.n, channels, size, size], data: data! } },
    {
      method: method!.name,
      ids: JSON.stringify(shard.ids),
      labels: JSON.stringify(labels),
      predicted: JSON.stringify(predicted),
      targets: JSON.stringify(targets),
      config: JSON.stringify(config),
    },
  );
  const file = attributionFile(method!.name, task.shard);
  const path = join(task.outDir, file);
  await makeFolder(dirname(path));
  await writeFileAtomic(path, parts);
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return { file, sha256: hash.digest('hex'), samples: shard.n };
}
