import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../io/index.js';
import { Rng } from '../rng/index.js';
import type { Model } from '../nn/model.js';
import { loadModel, saveModel } from '../nn/weights.js';
import { Adam } from './adam.js';
import type { TrainingData } from './data.js';
import { evaluate } from './evaluate.js';
import { removeCheckpoint, runLoop } from './loop.js';
import { writeCsv, writeJson } from './output.js';
import type { Hyper } from './profiles.js';
import {
  averageLoss, learningRateSchedule, earlyStoppingStep, initialEarlyStopping, mabShouldStop, validationShardAt,
  type EarlyStoppingState, type StopReason,
} from './schedule.js';
import type { StepLosses } from './step.js';

/** How finished models are written and read (the nn stage's saveModel / loadModel). */
export interface ModelStore {
  save(dir: string, model: Model, extra?: Record<string, unknown>): Promise<void>;
  load(dir: string): Promise<Model>;
}

/** The usual ModelStore: weights.safetensors + arch.json through the nn stage's saveModel / loadModel. */
export const modelStore: ModelStore = { save: saveModel, load: loadModel };

/** Progress of a run: iteration of total, the last loss and validation accuracy when known. */
export type TrainProgress = (iteration: number, total: number, status: { loss?: number; validationAccuracy?: number; phase?: string }) => void;

export interface RunOptions {
  data: TrainingData;
  hyper: Hyper;
  seed: number;
  out: string;
  store: ModelStore;
  checkpointEvery?: number;
  /** Threads computing each step's micro-batches (default 1); results do not depend on it. */
  threads?: number;
  onProgress?: TrainProgress;
  /** The backend computing the run (its name only: training never depends on it), recorded in summary.json. */
  backend?: string;
}

const CHECKPOINT = 'checkpoint.safetensors';
const SUMMARY = 'summary.json';

function dataIdentity(data: TrainingData) {
  return {
    size: data.size, numClasses: data.numClasses, train: data.train.sampleCounts, validation: data.validation.sampleCounts,
    ...(data.shuffledLabels ? { shuffledLabels: true } : {}),
  };
}

async function readSummary<T>(dir: string): Promise<T | null> {
  try {
    return JSON.parse(await readFile(join(dir, SUMMARY), 'utf8')) as T;
  } catch {
    return null;
  }
}

export interface ContinuousSummary {
  mode: 'continuous';
  spec: Model['spec'];
  seed: number;
  hyper: Hyper;
  iterations: number;
  epochs: number;
  finalAverageLoss: number | null;
  /** Trained on permuted labels (withShuffledLabels), the random-label sanity check's model. */
  shuffledLabels?: true;
  /** The backend that computed it (absent in summaries written before the native backend). */
  backend?: string;
}

/**
 * Continuous mode (§2.4, the "base model"): every epoch, no validation; the loss averaged over each 4
 * iterations goes to curves.csv. Writes the model, curves.csv and summary.json into `out`; a finished run
 * is not repeated (its summary is returned).
 */
export async function trainContinuous(model: Model, options: RunOptions): Promise<ContinuousSummary> {
  const { hyper, out } = options;
  const done = await readSummary<ContinuousSummary>(out);
  if (done?.mode === 'continuous') {
    if (Boolean(done.shuffledLabels) !== Boolean(options.data.shuffledLabels)) {
      throw new UserError(`${out} holds a model trained on ${done.shuffledLabels ? 'shuffled' : 'true'} labels; use another --out`);
    }
    return done;
  }
  const config = { mode: 'continuous', spec: model.spec, seed: options.seed, hyper, data: dataIdentity(options.data) };
  const adam = new Adam(model.trainable, { lr: hyper.lr, betas: hyper.betas, weightDecay: hyper.weightDecay });
  const hooks = {
    state: { averager: { sum: 0 }, curve: [] as Array<[number, number]> },
    async afterStep(iteration: number, losses: StepLosses) {
      const average = averageLoss(hooks.state.averager, iteration, losses.loss, hyper.every);
      if (average !== null) hooks.state.curve.push([iteration, average]);
      return false;
    },
  };
  const result = await runLoop({
    model, adam, data: options.data, seed: options.seed, epochs: hyper.epochs, lrAt: learningRateSchedule(hyper), batchSize: hyper.batchSize, microBatches: hyper.microBatches, threads: options.threads ?? 1,
    shuffleWithinShard: true, startIteration: 0, checkpointPath: join(out, CHECKPOINT),
    checkpointEvery: options.checkpointEvery ?? 100, config, hooks,
    onProgress: (it, total, losses) => options.onProgress?.(it, total, { loss: losses?.loss }),
  }).finally(() => adam.dispose());
  const summary: ContinuousSummary = {
    mode: 'continuous', spec: model.spec, seed: options.seed, hyper, iterations: result.iteration, epochs: result.epochs,
    finalAverageLoss: hooks.state.curve.at(-1)?.[1] ?? null, ...(options.data.shuffledLabels ? { shuffledLabels: true as const } : {}),
    ...(options.backend === undefined ? {} : { backend: options.backend }),
  };
  await options.store.save(out, model, { training: summary });
  await writeCsv(join(out, 'curves.csv'), ['iteration', 'average_loss'], hooks.state.curve);
  await writeJson(join(out, SUMMARY), summary);
  await removeCheckpoint(join(out, CHECKPOINT));
  return summary;
}

export interface BranchSummary {
  mode: 'branch';
  branch: number;
  seed: number;
  /** Accuracy over the whole validation split, at the stop or at the end (`null` never happens). */
  totalValidationAccuracy: number;
  targetAccuracy: number;
  bestAccuracy: number;
  /** "S1" target reached, "S2" patience exhausted, null: ran all epochs. */
  earlyStopping: StopReason | null;
  earlyStoppingMessage: string;
  /** The reference's `.optim` (target reached) vs `.noptim`. */
  reachedTarget: boolean;
  startIteration: number;
  iterations: number;
  epochs: number;
  /** The backend that computed it (absent in summaries written before the native backend). */
  backend?: string;
}

interface BranchState {
  averager: { sum: number };
  lastAverage: number | null;
  early: EarlyStoppingState;
  saved: boolean;
  stop: StopReason | null;
  curve: Array<[number, number | null, number, number, number, number]>;
}

/**
 * One branch of regular evaluation mode (§2.5) from a base model: a fresh Adam, the iteration count
 * continuing the base run's; every `every` iterations one random validation shard is evaluated, the
 * weights are saved on improvement (and at the first evaluation), and n_early / refresh / limit decide
 * the stop. On a stop, or after the last epoch, the whole validation split is evaluated (with the weights
 * of that moment, as the reference does at S1 and at the end).
 */
export async function trainBranch(model: Model, branch: number, startIteration: number, options: RunOptions): Promise<BranchSummary> {
  const { hyper, out, data } = options;
  const done = await readSummary<BranchSummary>(out);
  if (done?.mode === 'branch') return done;
  const seed = options.seed;
  const config = { mode: 'branch', branch, startIteration, spec: model.spec, seed, hyper, data: dataIdentity(data) };
  const adam = new Adam(model.trainable, { lr: hyper.lr, betas: hyper.betas, weightDecay: hyper.weightDecay });
  const settings = { target: hyper.target, limit: hyper.limit, refresh: hyper.refresh };
  const hooks = {
    state: { averager: { sum: 0 }, lastAverage: null, early: initialEarlyStopping(), saved: false, stop: null, curve: [] } as BranchState,
    async afterStep(iteration: number, losses: StepLosses) {
      const s = hooks.state;
      const average = averageLoss(s.averager, iteration, losses.loss, hyper.every);
      if (average !== null) s.lastAverage = average;
      if (iteration % hyper.every !== 0) return false;
      const shard = validationShardAt(seed, iteration, data.validation.sampleCounts.length);
      const { accuracy } = await evaluate(model, data.validation, [shard], hyper.batchSize);
      const step = earlyStoppingStep(s.early, accuracy, settings);
      if (step.improved || !s.saved) {
        await options.store.save(out, model, { branch, iteration, validationAccuracy: accuracy });
        s.saved = true;
      }
      s.early = step.state;
      s.stop = step.stop;
      s.curve.push([iteration, s.lastAverage, shard, accuracy, s.early.bestAccuracy, s.early.nEarly]);
      return step.stop !== null;
    },
  };
  const result = await runLoop({
    // The branch continues the base run's schedule (its epoch e is epoch TC + e), so a base that ended at lr/10
    // is not thrown back to the full rate; with the reference's constant rate nothing changes.
    model, adam, data, seed, epochs: hyper.branchEpochs, lrAt: branchLearningRate(hyper), batchSize: hyper.batchSize, microBatches: hyper.microBatches, threads: options.threads ?? 1, shuffleWithinShard: true,
    startIteration, checkpointPath: join(out, CHECKPOINT), checkpointEvery: options.checkpointEvery ?? 100, config, hooks,
    onProgress: (it, total, losses) => options.onProgress?.(it, total, {
      loss: losses?.loss, validationAccuracy: hooks.state.curve.at(-1)?.[3], phase: `branch ${branch}`,
    }),
  }).finally(() => adam.dispose());
  const s = hooks.state;
  options.onProgress?.(result.iteration, result.iteration, { phase: `branch ${branch}: full validation` });
  const total = await evaluate(model, data.validation, undefined, hyper.batchSize);
  if (!s.saved) await options.store.save(out, model, { branch, iteration: result.iteration });
  const messages = { S1: 'target accuracy reached', S2: 'no improvement within the patience limit' };
  const summary: BranchSummary = {
    mode: 'branch', branch, seed, totalValidationAccuracy: total.accuracy, targetAccuracy: hyper.target,
    bestAccuracy: s.early.bestAccuracy, earlyStopping: s.stop, earlyStoppingMessage: s.stop ? messages[s.stop] : 'ran all epochs',
    reachedTarget: s.stop === 'S1', startIteration, iterations: result.iteration, epochs: result.epochs,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
  };
  await writeCsv(join(out, 'curves.csv'),
    ['iteration', 'average_loss', 'validation_shard', 'validation_accuracy', 'best_accuracy', 'n_early'], s.curve);
  await writeJson(join(out, SUMMARY), summary);
  await removeCheckpoint(join(out, CHECKPOINT));
  return summary;
}

/** A branch's learning rate per (epoch, step): the base run's schedule from epoch TC (`hyper.epochs`) on; warm-up restarts with the fresh Adam. */
export function branchLearningRate(hyper: Pick<Hyper, 'lr' | 'lrDecayEpoch' | 'lrWarmup' | 'epochs'>): (epoch: number, step: number) => number {
  const schedule = learningRateSchedule(hyper);
  return (epoch, step) => schedule(hyper.epochs + epoch, step);
}

/** Seed of branch b: its own data order, validation draws and dropout masks. */
export function branchSeed(seed: number, branch: number): number {
  return Rng.derive(seed, 'train', 'branch', branch).nextUint32();
}

/** One branch to train from the base model folder (see trainBranches). */
export interface BranchTask {
  branch: number;
  startIteration: number;
  seed: number;
  out: string;
  baseDir: string;
}

/** Trains a branch somewhere (this thread by default, or a worker thread: see branchesOnThreads). */
export type BranchRunner = (task: BranchTask, onProgress: TrainProgress) => Promise<BranchSummary>;

export interface BranchesOptions extends RunOptions {
  /** An existing base model folder (default: train one into `<out>/base`). */
  baseDir?: string;
  /** Where branches run; default: one after another on this thread. */
  runBranch?: BranchRunner;
  /** Branches trained at once by `runBranch` (default 1). Results do not depend on it. */
  concurrentBranches?: number;
}

/**
 * Regular evaluation mode as the reference's workflow part 2: the base model (trained here in continuous
 * mode into `<out>/base` unless `baseDir` names one) and `hyper.branches` branches into `<out>/branch-<b>`,
 * each from the base weights with its own seed. Branches are independent, so several can train at once
 * (`concurrentBranches` with a `runBranch` that uses other threads); progress is their sum. Writes
 * `<out>/summary.json` with every branch's summary.
 */
export async function trainBranches(
  createBase: () => Model, options: BranchesOptions,
): Promise<{ base: string; branches: BranchSummary[] }> {
  const baseDir = options.baseDir ?? join(options.out, 'base');
  if (!options.baseDir) {
    const base = createBase();
    try {
      await trainContinuous(base, { ...options, out: baseDir, onProgress: (i, t, s) => options.onProgress?.(i, t, { ...s, phase: 'base' }) });
    } finally {
      base.dispose();
    }
  }
  const baseSummary = await readSummary<ContinuousSummary>(baseDir);
  const startIteration = baseSummary?.iterations ?? 0;
  const runBranch = options.runBranch ?? ((task, onProgress) => trainBranchOnThisThread(task, { ...options, onProgress }));
  const tasks: BranchTask[] = Array.from({ length: options.hyper.branches }, (_, i) => ({
    branch: i + 1, startIteration, seed: branchSeed(options.seed, i + 1), out: join(options.out, `branch-${i + 1}`), baseDir,
  }));
  const perBranch = options.hyper.branchEpochs * options.data.train.sampleCounts.reduce((sum, n) => sum + Math.ceil(n / options.hyper.batchSize), 0);
  const progress = tasks.map(() => ({ done: 0, total: perBranch }));
  const branches: BranchSummary[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const k = next++;
      const task = tasks[k]!;
      branches[k] = await runBranch(task, (iteration, total, status) => {
        progress[k] = { done: iteration - startIteration, total: total - startIteration };
        const sum = progress.reduce((acc, p) => ({ done: acc.done + p.done, total: acc.total + p.total }), { done: 0, total: 0 });
        options.onProgress?.(sum.done, sum.total, status);
      });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrentBranches ?? 1, tasks.length)) }, worker));
  const result = { base: baseDir, branches };
  await writeJson(join(options.out, SUMMARY), { mode: 'branches', base: baseDir, seed: options.seed, branches });
  return result;
}

/** A branch on this thread: the base model loaded from its folder, then trainBranch. */
export async function trainBranchOnThisThread(task: BranchTask, options: RunOptions): Promise<BranchSummary> {
  const model = await options.store.load(task.baseDir);
  try {
    if (model.spec.numClasses !== options.data.numClasses) {
      throw new UserError(`${task.baseDir}: base model has ${model.spec.numClasses} classes, the data ${options.data.numClasses}`);
    }
    return await trainBranch(model, task.branch, task.startIteration, { ...options, seed: task.seed, out: task.out });
  } finally {
    model.dispose();
  }
}

export interface MabSummary {
  mode: 'mab';
  spec: Model['spec'];
  seed: number;
  hyper: Hyper;
  bestAccuracy: number;
  bestEpoch: number;
  epochs: number;
  iterations: number;
  stoppedAtTarget: boolean;
  /** The backend that computed it (absent in summaries written before the native backend). */
  backend?: string;
}

interface MabState {
  curve: Array<[number, number, number, number]>;
  validation: Array<[number, number]>;
  bestAccuracy: number;
  bestEpoch: number;
}

/**
 * mabCAM training (§4.2): Adam (0.001, (0.5, 0.999)), joint loss CE + λ·band CE, shards in a random order
 * and batches unshuffled inside a shard; after each epoch the WHOLE validation split is evaluated (the
 * reference counts only its last shard), the best model is saved, and the run stops once the best accuracy
 * reaches the target after the minimum epoch.
 */
export async function trainMab(model: Model, options: RunOptions): Promise<MabSummary> {
  const { hyper, out, data } = options;
  const done = await readSummary<MabSummary>(out);
  if (done?.mode === 'mab') return done;
  const config = { mode: 'mab', spec: model.spec, seed: options.seed, hyper, data: dataIdentity(data) };
  const adam = new Adam(model.trainable, { lr: hyper.lr, betas: hyper.betas, weightDecay: hyper.weightDecay });
  const hooks = {
    state: { curve: [], validation: [], bestAccuracy: 0, bestEpoch: -1 } as MabState,
    async afterStep(iteration: number, losses: StepLosses) {
      hooks.state.curve.push([iteration, losses.loss, losses.ce!, losses.mab!]);
      return false;
    },
    async afterEpoch(epoch: number) {
      const s = hooks.state;
      const { accuracy } = await evaluate(model, data.validation, undefined, hyper.batchSize);
      s.validation.push([epoch, accuracy]);
      if (accuracy > s.bestAccuracy) {
        s.bestAccuracy = accuracy;
        s.bestEpoch = epoch;
        await options.store.save(out, model, { epoch, validationAccuracy: accuracy });
      }
      return mabShouldStop(s.bestAccuracy, epoch, hyper.minEpoch, hyper.mabTarget);
    },
  };
  const result = await runLoop({
    model, adam, data, seed: options.seed, epochs: hyper.epochs, lrAt: learningRateSchedule(hyper), batchSize: hyper.batchSize, microBatches: hyper.microBatches, threads: options.threads ?? 1, shuffleWithinShard: false,
    lambda: hyper.lambda, startIteration: 0, checkpointPath: join(out, CHECKPOINT), checkpointEvery: options.checkpointEvery ?? 100,
    config, hooks, onProgress: (it, total, losses) => options.onProgress?.(it, total, {
      loss: losses?.loss, validationAccuracy: hooks.state.validation.at(-1)?.[1],
    }),
  }).finally(() => adam.dispose());
  const s = hooks.state;
  const summary: MabSummary = {
    mode: 'mab', spec: model.spec, seed: options.seed, hyper, bestAccuracy: s.bestAccuracy, bestEpoch: s.bestEpoch,
    epochs: result.epochs, iterations: result.iteration, stoppedAtTarget: result.stopped,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
  };
  await writeCsv(join(out, 'curves.csv'), ['iteration', 'loss', 'ce_loss', 'mab_loss'], s.curve);
  await writeCsv(join(out, 'validation.csv'), ['epoch', 'validation_accuracy'], s.validation);
  await writeJson(join(out, SUMMARY), summary);
  await removeCheckpoint(join(out, CHECKPOINT));
  return summary;
}
