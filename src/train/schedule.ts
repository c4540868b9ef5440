import { Rng } from '../rng/index.js';
import type { Hyper } from './profiles.js';

/**
 * The pure bookkeeping of the training loops: data order, loss averaging and early stopping.
 * Every random choice is derived from (seed, position), so a resumed run repeats it exactly.
 */

/** Order in which an epoch visits the training shards (the reference's `random.shuffle` of the shard list). */
export function shardOrder(seed: number, epoch: number, shardCount: number): number[] {
  return Rng.derive(seed, 'train', 'shard-order', epoch).shuffle(Array.from({ length: shardCount }, (_, i) => i));
}

/**
 * Sample indices of one shard split into batches, the last partial batch kept (DataLoader drop_last=False);
 * shuffled (DataLoader shuffle=True) unless `shuffle` is false (the mab loop's unshuffled loader).
 */
export function shardBatches(seed: number, epoch: number, shard: number, sampleCount: number, batchSize: number, shuffle: boolean): number[][] {
  const order = Array.from({ length: sampleCount }, (_, i) => i);
  if (shuffle) Rng.derive(seed, 'train', 'batch-order', epoch, shard).shuffle(order);
  const batches: number[][] = [];
  for (let i = 0; i < sampleCount; i += batchSize) batches.push(order.slice(i, i + batchSize));
  return batches;
}

/** Seed of the dropout masks of one training iteration. */
export function dropoutSeed(seed: number, iteration: number): number {
  return Rng.derive(seed, 'train', 'dropout', iteration).nextUint32();
}

/** The validation shard that regular evaluation at `iteration` uses (numpy randint over the shards). */
export function validationShardAt(seed: number, iteration: number, shardCount: number): number {
  return Rng.derive(seed, 'train', 'validation-shard', iteration).int(0, shardCount);
}

/**
 * The reference's average-loss bookkeeping: every iteration adds loss/every; at iterations divisible by
 * `every` the sum is recorded and reset (so with a resumed or continued iteration count, the first record
 * may average fewer iterations, as in the reference).
 */
export interface LossAverager {
  sum: number;
}

export function averageLoss(state: LossAverager, iteration: number, loss: number, every = 4): number | null {
  state.sum += loss / every;
  if (iteration % every !== 0) return null;
  const average = state.sum;
  state.sum = 0;
  return average;
}

export interface EarlyStoppingSettings {
  /** Target accuracy (0.96): reaching it on improvement stops the branch ("S1"). */
  target: number;
  /** n_l: patience limit ("S2" when n_early reaches it). */
  limit: number;
  /** r_f: on improvement n_early ← floor(r_f · n_early). */
  refresh: number;
}

export interface EarlyStoppingState {
  bestAccuracy: number;
  nEarly: number;
}

export type StopReason = 'S1' | 'S2';

export interface EarlyStoppingStep {
  state: EarlyStoppingState;
  /** The accuracy beat the best so far: save the weights. */
  improved: boolean;
  stop: StopReason | null;
}

export function initialEarlyStopping(): EarlyStoppingState {
  return { bestAccuracy: 0, nEarly: 0 };
}

/** One regular evaluation of spec §2.5 (steps 3 and 4). */
export function earlyStoppingStep(state: EarlyStoppingState, accuracy: number, settings: EarlyStoppingSettings): EarlyStoppingStep {
  if (accuracy > state.bestAccuracy) {
    const next = { bestAccuracy: accuracy, nEarly: Math.floor(settings.refresh * state.nEarly) };
    return { state: next, improved: true, stop: accuracy >= settings.target ? 'S1' : null };
  }
  const next = { bestAccuracy: state.bestAccuracy, nEarly: state.nEarly + 1 };
  return { state: next, improved: false, stop: next.nEarly >= settings.limit ? 'S2' : null };
}

/** The mab loop's stop rule (spec §4.2): best validation accuracy ≥ target after the minimum epoch. */
export function mabShouldStop(bestAccuracy: number, epoch: number, minEpoch: number, target: number): boolean {
  return bestAccuracy >= target && epoch > minEpoch;
}

/**
 * Learning rate of a step: `lr`, divided by 10 from epoch `decayEpoch` on (0-based; PyTorch StepLR with one
 * step, gamma 0.1), and scaled by (step + 1) / warmup during the run's first `warmup` steps (a linear warm-up,
 * PyTorch LinearLR from 1/warmup; `step` counts this run's steps from 0). `null` and 0 keep it constant, as
 * the reference does.
 */
export function learningRateAt(lr: number, epoch: number, decayEpoch: number | null, warmup = 0, step = 0): number {
  const base = decayEpoch !== null && epoch >= decayEpoch ? lr / 10 : lr;
  return step < warmup ? (base * (step + 1)) / warmup : base;
}

/** A run's learning rate per (epoch, step) from its hyper-parameters (every training mode uses it). */
export function learningRateSchedule(hyper: Pick<Hyper, 'lr' | 'lrDecayEpoch' | 'lrWarmup'>): (epoch: number, step: number) => number {
  return (epoch, step) => learningRateAt(hyper.lr, epoch, hyper.lrDecayEpoch, hyper.lrWarmup, step);
}
