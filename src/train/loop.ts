import { rm } from 'node:fs/promises';
import { UserError } from '../io/index.js';
import type { Model } from '../nn/model.js';
import type { Adam } from './adam.js';
import { checkpointConfig, checkpointExists, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { disposeBatch, makeBatch, type TrainingData } from './data.js';
import { dropoutSeed, shardBatches, shardOrder } from './schedule.js';
import { StepRunner } from './parallel.js';
import type { StepLosses } from './step.js';

/** Where the loop is: the next batch to run (epoch, position in the epoch's shard order, batch in shard). */
export interface Position {
  epoch: number;
  shardInEpoch: number;
  batchInShard: number;
}

/** What a mode adds to the loop; its state is plain JSON so checkpoints can carry it. */
export interface LoopHooks<S> {
  state: S;
  /** After each step (iteration already incremented); true stops the run. */
  afterStep?(iteration: number, losses: StepLosses): Promise<boolean>;
  /** After each epoch; true stops the run. */
  afterEpoch?(epoch: number, iteration: number): Promise<boolean>;
}

export interface LoopOptions<S> {
  model: Model;
  adam: Adam;
  data: TrainingData;
  seed: number;
  epochs: number;
  batchSize: number;
  /** Learning rate of each step (epoch, step of this run from 0); default constant. */
  lrAt?: (epoch: number, step: number) => number;
  /** Shuffle inside each shard (classifier loops) or not (the mab loop). */
  shuffleWithinShard: boolean;
  /** Set → mab joint loss with this λ. */
  lambda?: number;
  /** Micro-batches per step (gradient accumulation) and the threads that compute them (see StepRunner). */
  microBatches: number;
  threads: number;
  /** Iteration count the run starts from (branches continue the base model's count). */
  startIteration: number;
  /** Checkpoint file; the run resumes from it when it exists (and was written with the same `config`). */
  checkpointPath: string;
  /** Checkpoint every this many iterations (and after every epoch). */
  checkpointEvery: number;
  /** Identity of the run, stored in the checkpoint. */
  config: unknown;
  hooks: LoopHooks<S>;
  onProgress?: (iteration: number, totalIterations: number, losses: StepLosses | null) => void;
}

export interface LoopResult {
  iteration: number;
  /** Epochs completed (an early stop counts the epoch it stopped in). */
  epochs: number;
  stopped: boolean;
}

interface Saved<S> {
  position: Position;
  iteration: number;
  stopped: boolean;
  hooks: S;
}

/**
 * The training loop of spec §2.3: each epoch visits the training shards in a seeded random order, loads each
 * whole, and runs its batches (last partial one kept). Checkpoints are atomic and carry everything a resumed
 * run needs to continue exactly (weights, buffers, Adam moments, position, iteration, the mode's state);
 * the data order and dropout masks are functions of (seed, position), so nothing else is needed.
 */
export async function runLoop<S>(options: LoopOptions<S>): Promise<LoopResult> {
  const { model, adam, data, seed, epochs, batchSize, hooks } = options;
  let position: Position = { epoch: 0, shardInEpoch: 0, batchInShard: 0 };
  let iteration = options.startIteration;
  let stopped = false;
  if (await checkpointExists(options.checkpointPath)) {
    // A damaged checkpoint (truncated by a full disk, edited) says so, and how to start over.
    const unreadable = (err: unknown): never => {
      const reason = (err as Error).message.replace(`${options.checkpointPath}: `, '');
      throw new UserError(`${options.checkpointPath}: unreadable checkpoint (${reason}); delete it to start this run over`);
    };
    const config = await checkpointConfig(options.checkpointPath).catch(unreadable);
    if (JSON.stringify(config) !== JSON.stringify(options.config)) {
      throw new UserError(`${options.checkpointPath}: checkpoint of a run with a different configuration; use another --out or delete it`);
    }
    const saved = await loadCheckpoint<Saved<S>>(options.checkpointPath, model, adam).catch(unreadable);
    ({ position, iteration, stopped } = saved);
    hooks.state = saved.hooks;
  }
  const save = () => saveCheckpoint(options.checkpointPath, model, adam, options.config, { position, iteration, stopped, hooks: hooks.state } satisfies Saved<S>);

  const counts = data.train.sampleCounts;
  const perEpoch = counts.reduce((s, n) => s + Math.ceil(n / batchSize), 0);
  const totalIterations = options.startIteration + epochs * perEpoch;
  options.onProgress?.(iteration, totalIterations, null);

  const runner = await StepRunner.start(model, { microBatches: options.microBatches, threads: options.threads, ...(options.lambda === undefined ? {} : { lambda: options.lambda }) });
  try {
    while (!stopped && position.epoch < epochs) {
      const order = shardOrder(seed, position.epoch, counts.length);
      while (!stopped && position.shardInEpoch < order.length) {
        const shardIndex = order[position.shardInEpoch]!;
        const shard = await data.train.load(shardIndex);
        const batches = shardBatches(seed, position.epoch, shardIndex, shard.n, batchSize, options.shuffleWithinShard);
        while (!stopped && position.batchInShard < batches.length) {
          const batch = makeBatch(shard, batches[position.batchInShard]!, model.spec.inputSize, options.lambda !== undefined);
          let losses: StepLosses;
          if (options.lrAt) adam.lr = options.lrAt(position.epoch, iteration - options.startIteration);
          try {
            losses = await runner.step(adam, batch, dropoutSeed(seed, iteration));
          } finally {
            disposeBatch(batch);
          }
          iteration += 1;
          position = { ...position, batchInShard: position.batchInShard + 1 };
          if (!Number.isFinite(losses.loss)) throw new UserError(`training diverged: loss ${losses.loss} at iteration ${iteration}`);
          stopped = (await hooks.afterStep?.(iteration, losses)) ?? false;
          options.onProgress?.(iteration, stopped ? iteration : totalIterations, losses);
          if (!stopped && iteration % options.checkpointEvery === 0) await save();
        }
        if (!stopped) position = { epoch: position.epoch, shardInEpoch: position.shardInEpoch + 1, batchInShard: 0 };
      }
      if (!stopped) {
        stopped = (await hooks.afterEpoch?.(position.epoch, iteration)) ?? false;
        position = { epoch: position.epoch + 1, shardInEpoch: 0, batchInShard: 0 };
        await save();
      }
    }
  } finally {
    await runner.close();
  }
  if (stopped) await save();
  // A stop inside an epoch leaves the position in it; a stop after an epoch has already moved past it.
  const midEpoch = position.shardInEpoch > 0 || position.batchInShard > 0;
  return { iteration, epochs: position.epoch + (midEpoch ? 1 : 0), stopped };
}

/** Removes a finished run's checkpoint. */
export async function removeCheckpoint(path: string): Promise<void> {
  await rm(path, { force: true });
}
