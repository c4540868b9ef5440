import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { openDataset, type Split } from '../data/index.js';
import { ensure, lockFolder, makeFolder, writeFileAtomic } from '../io/index.js';
import { createModel, describeArch, loadModel, validateSpec, type Arch, type ArchSpec } from '../nn/index.js';
import { initBackend, type BackendName } from '../compute/index.js';
import { branchesOnThreads } from './branch-threads.js';
import { shardSetOf, trainingDataOf, withShuffledLabels } from './dataset.js';
import { evaluate } from './evaluate.js';
import {
  modelStore, trainBranches, trainContinuous, trainMab,
  type BranchSummary, type ContinuousSummary, type MabSummary, type TrainProgress,
} from './modes.js';
import { defaultMode, resolveHyper, trainingSpec, type Hyper, type HyperOverrides, type Mode, type Profile } from './profiles.js';

/** Everything a training run needs (what `fiveband train` parses); the profile's values fill the rest. */
export interface TrainRunOptions extends HyperOverrides {
  arch: Arch;
  /** Dataset folder written by generateDataset. */
  dataDir: string;
  /** Run folder: model, curves.csv, summary.json (a checkpoint there is resumed). */
  out: string;
  /** Default: mab for spa, else continuous. */
  mode?: Mode;
  /** Default 'small'. */
  profile?: Profile;
  /** alexnet-depth: extra blocks. */
  depth?: number;
  /** Default 0. */
  seed?: number;
  /** Default 'wasm'. */
  backend?: BackendName;
  /** Expected number of classes, checked against the data. */
  classes?: number;
  /** Branches mode: an existing base model folder (default: train one into `<out>/base`). */
  baseDir?: string;
  /** Iterations between checkpoints (default 100). */
  checkpointEvery?: number;
  /** Continuous mode: train on labels permuted within each shard (the random-label sanity check's model). */
  shuffleLabels?: boolean;
  /**
   * Branches mode: branches trained at once; otherwise threads computing a step's micro-batches. Default: as many
   * as branches or micro-batches, at most the CPUs. Results do not depend on it.
   */
  threads?: number;
  onProgress?: TrainProgress;
}

export interface TrainRunResult {
  arch: Arch;
  mode: Mode;
  spec: ArchSpec;
  hyper: Hyper;
  out: string;
  threads: number;
  /** Wall time of the training itself (after opening the data and checking the settings). */
  seconds: number;
  /** What the mode returned: the continuous or mab summary, or the base folder and every branch's summary. */
  summary:
    | { mode: 'continuous'; result: ContinuousSummary }
    | { mode: 'mab'; result: MabSummary }
    | { mode: 'branches'; result: { base: string; branches: BranchSummary[] } };
  /** A human-readable report: one headline, then one line per result (what `fiveband train` prints). */
  lines: string[];
}

/**
 * One training run as `fiveband train` does it: opens the dataset, resolves the profile's hyper-parameters with
 * the overrides (resolveHyper), checks the model spec against the data, creates the model and trains it in
 * continuous, branches or mab mode into `out`. Resumes from a checkpoint in `out`; a finished run is not
 * repeated. Input errors (class-count mismatch, mab for another architecture, a size larger than the data, a
 * size too small for the architecture) are UserErrors thrown before any work.
 */
export async function runTraining(options: TrainRunOptions): Promise<TrainRunResult> {
  const profile = options.profile ?? 'small';
  const seed = options.seed ?? 0;
  const checkpointEvery = options.checkpointEvery ?? 100;
  const dataset = await openDataset(options.dataDir);
  const data = options.shuffleLabels ? withShuffledLabels(trainingDataOf(dataset), seed) : trainingDataOf(dataset);
  ensure(options.classes === undefined || options.classes === data.numClasses,
    `${options.dataDir} has ${data.numClasses} classes, --classes asks for ${options.classes}`);
  const mode = options.mode ?? defaultMode(options.arch);
  ensure(!options.shuffleLabels || mode === 'continuous', `--shuffle-labels trains one model on permuted labels: use --mode continuous, not ${mode}`);
  ensure(mode !== 'mab' || options.arch === 'spa', `--mode mab needs the spa model (it trains the heatmap head), not ${options.arch}`);
  const hyper = resolveHyper({ ...options, profile }, data.size, mode);
  const spec: ArchSpec = validateSpec(trainingSpec(options.arch, hyper, data.numClasses, options.depth), 'model');
  describeArch(spec); // a size too small for the architecture fails here, before any work
  await makeFolder(options.out);
  const release = await lockFolder(options.out, 2); // also clears a killed run's half-written checkpoint (model, base, branches)
  try {
    return await trainInto(options, spec, hyper, mode, seed, checkpointEvery, data);
  } finally {
    await release();
  }
}

async function trainInto(
  options: TrainRunOptions, spec: ArchSpec, hyper: Hyper, mode: Mode, seed: number, checkpointEvery: number, data: ReturnType<typeof trainingDataOf>,
): Promise<TrainRunResult> {
  // Micro-batches and branches are computed on one thread each, the main one included, so that results do not
  // depend on --threads on the native backend either (its OpenMP thread count changes its sums' order).
  const backend = await initBackend(options.backend ?? 'wasm', hyper.microBatches > 1 || mode === 'branches' ? { threads: 1 } : {});

  const t0 = Date.now();
  // Threads go to concurrent branches in branches mode, else to a step's micro-batches.
  const threads = options.threads ?? Math.min(mode === 'branches' ? hyper.branches : hyper.microBatches, availableParallelism());
  const common = { data, hyper, seed, out: options.out, store: modelStore, checkpointEvery, threads, onProgress: options.onProgress, backend };
  let summary: TrainRunResult['summary'];
  let report: string[];
  if (mode === 'branches') {
    const result = await trainBranches(() => createModel(spec, seed), {
      ...common, ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }), concurrentBranches: threads,
      ...(threads > 1 ? { runBranch: branchesOnThreads({ dataDir: options.dataDir, hyper, checkpointEvery, recordedBackend: backend }) } : {}),
    });
    summary = { mode, result };
    report = result.branches.map((b) => `  branch ${b.branch}: total validation ${(100 * b.totalValidationAccuracy).toFixed(2)}%, best ${(100 * b.bestAccuracy).toFixed(2)}%, ${b.earlyStoppingMessage}${b.earlyStopping ? ` (${b.earlyStopping})` : ''} at iteration ${b.iterations}`);
  } else {
    const model = createModel(spec, seed);
    try {
      if (mode === 'mab') {
        const s = await trainMab(model, common);
        summary = { mode, result: s };
        report = [`  best validation accuracy ${(100 * s.bestAccuracy).toFixed(2)}% at epoch ${s.bestEpoch} (${s.epochs} epochs, ${s.iterations} iterations${s.stoppedAtTarget ? ', target reached' : ''})`];
      } else {
        const s = await trainContinuous(model, common);
        summary = { mode, result: s };
        report = [`  ${s.epochs} epochs, ${s.iterations} iterations, final average loss ${s.finalAverageLoss?.toFixed(4) ?? '-'}${s.shuffledLabels ? ', labels shuffled' : ''}`];
      }
    } finally {
      model.dispose();
    }
  }
  const seconds = (Date.now() - t0) / 1000;
  const headline = `trained ${options.arch} (${mode}, input ${spec.inputSize}, width ${spec.width}) into ${options.out} in ${seconds.toFixed(1)} s`;
  return { arch: options.arch, mode, spec, hyper, out: options.out, threads, seconds, summary, lines: [headline, ...report] };
}

export interface EvaluateModelOptions {
  /** Model folder (weights.safetensors + arch.json). */
  modelDir: string;
  dataDir: string;
  /** Default 'test'. */
  split?: Split;
  /** Default 16. */
  batch?: number;
  /** Default 'wasm'. */
  backend?: BackendName;
  /** JSON result file; default `<modelDir>/eval-<split>.json`. */
  out?: string;
}

export interface ModelEvaluation {
  spec: ArchSpec;
  split: Split;
  accuracy: number;
  correct: number;
  total: number;
  /** confusion[true][predicted] counts. */
  confusion: number[][];
  /** The JSON file written. */
  out: string;
}

/**
 * Accuracy and confusion matrix of a saved model on a dataset split (eval mode), written as JSON to `out`
 * (what `fiveband eval-model` does). A model for another class count or larger than the data is a UserError.
 */
export async function evaluateModel(options: EvaluateModelOptions): Promise<ModelEvaluation> {
  const split = options.split ?? 'test';
  const dataset = await openDataset(options.dataDir);
  await initBackend(options.backend ?? 'wasm');
  const model = await loadModel(options.modelDir);
  try {
    const { spec } = model;
    ensure(spec.numClasses === dataset.classes, `${options.modelDir} classifies ${spec.numClasses} classes, ${options.dataDir} has ${dataset.classes}`);
    ensure(spec.inputSize <= dataset.size, `${options.modelDir} takes ${spec.inputSize}×${spec.inputSize} inputs, larger than the data's ${dataset.size}×${dataset.size}`);
    const result = await evaluate(model, shardSetOf(dataset, split), undefined, options.batch ?? 16);
    const out = options.out ?? join(options.modelDir, `eval-${split}.json`);
    await writeFileAtomic(out, JSON.stringify({
      model: options.modelDir, data: options.dataDir, split, spec, accuracy: result.accuracy, correct: result.correct,
      total: result.total, confusion: result.confusion,
    }, null, 2) + '\n');
    return { spec, split, accuracy: result.accuracy, correct: result.correct, total: result.total, confusion: result.confusion, out };
  } finally {
    model.dispose();
  }
}
