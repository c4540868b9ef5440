import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  averageLoss, dropoutSeed, earlyStoppingStep, initialEarlyStopping, learningRateAt, mabShouldStop, shardBatches, shardOrder, validationShardAt,
} from '../../src/train/schedule.js';
import { branchLearningRate } from '../../src/train/modes.js';

test('shard order is a seeded permutation that changes with the epoch', () => {
  const a = shardOrder(7, 0, 32);
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 32 }, (_, i) => i));
  assert.deepEqual(shardOrder(7, 0, 32), a);
  assert.notDeepEqual(shardOrder(7, 1, 32), a);
  assert.notDeepEqual(shardOrder(8, 0, 32), a);
});

test('shard batches cover every sample once, keep the last partial batch, and shuffle only when asked', () => {
  const batches = shardBatches(1, 0, 3, 200, 16, true);
  assert.equal(batches.length, 13);
  assert.equal(batches.at(-1)!.length, 200 - 12 * 16);
  assert.deepEqual(batches.flat().sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i));
  assert.notDeepEqual(batches.flat(), Array.from({ length: 200 }, (_, i) => i));
  assert.deepEqual(shardBatches(1, 0, 3, 200, 16, true), batches);
  assert.notDeepEqual(shardBatches(1, 0, 4, 200, 16, true), batches);
  assert.deepEqual(shardBatches(1, 0, 3, 5, 2, false), [[0, 1], [2, 3], [4]]);
});

test('dropout seeds and validation shards are functions of (seed, iteration)', () => {
  assert.equal(dropoutSeed(1, 10), dropoutSeed(1, 10));
  assert.notEqual(dropoutSeed(1, 10), dropoutSeed(1, 11));
  const draws = Array.from({ length: 400 }, (_, i) => validationShardAt(5, i * 4, 8));
  assert.ok(draws.every((s) => s >= 0 && s < 8));
  assert.equal(new Set(draws).size, 8);
  assert.deepEqual(Array.from({ length: 400 }, (_, i) => validationShardAt(5, i * 4, 8)), draws);
});

test('loss averaging sums loss/4 and records at iterations divisible by 4', () => {
  const state = { sum: 0 };
  const records: Array<[number, number]> = [];
  const losses = [4, 8, 12, 16, 1, 1, 1, 1, 2];
  losses.forEach((loss, i) => {
    const avg = averageLoss(state, i + 1, loss);
    if (avg !== null) records.push([i + 1, avg]);
  });
  assert.deepEqual(records, [[4, 10], [8, 1]]);
  assert.equal(state.sum, 0.5);
});

test('early stopping follows spec §2.5: refresh on improvement, S1 at the target, S2 at the limit', () => {
  const settings = { target: 0.96, limit: 3, refresh: 0.4 };
  let state = initialEarlyStopping();
  const trace: Array<[boolean, number, string | null]> = [];
  for (const acc of [0.5, 0.4, 0.5, 0.45, 0.6, 0.6, 0.55, 0.59]) {
    const step = earlyStoppingStep(state, acc, settings);
    state = step.state;
    trace.push([step.improved, state.nEarly, step.stop]);
  }
  // 0.5 improves (n 0); 0.4, 0.5 (equal is no improvement) → n 1, 2; 0.45 → 3 = limit → S2 ... continued by hand:
  assert.deepEqual(trace.slice(0, 4), [[true, 0, null], [false, 1, null], [false, 2, null], [false, 3, 'S2']]);
  // 0.6 improves: n = floor(0.4 · 3) = 1; then 0.6, 0.55 → 2, 3 (S2); 0.59 → 4 (S2)
  assert.deepEqual(trace.slice(4), [[true, 1, null], [false, 2, null], [false, 3, 'S2'], [false, 4, 'S2']]);
  const s1 = earlyStoppingStep({ bestAccuracy: 0.9, nEarly: 10 }, 0.965, settings);
  assert.deepEqual(s1, { state: { bestAccuracy: 0.965, nEarly: 4 }, improved: true, stop: 'S1' });
  // a non-improving accuracy above the target does not stop by S1
  assert.equal(earlyStoppingStep({ bestAccuracy: 0.97, nEarly: 0 }, 0.965, settings).stop, null);
  // AlexNet/VGG settings: floor(0.3 · 47) = 14
  assert.equal(earlyStoppingStep({ bestAccuracy: 0.5, nEarly: 47 }, 0.6, { target: 0.96, limit: 48, refresh: 0.3 }).state.nEarly, 14);
});

test('the mab loop stops only after the minimum epoch once the best accuracy reaches the target', () => {
  assert.equal(mabShouldStop(0.98, 12, 12, 0.975), false);
  assert.equal(mabShouldStop(0.98, 13, 12, 0.975), true);
  assert.equal(mabShouldStop(0.974, 50, 12, 0.975), false);
  assert.equal(mabShouldStop(0.975, 0, -1, 0.975), true);
});

test('learning rate: constant without a decay epoch, lr/10 from the decay epoch on', () => {
  assert.deepEqual([0, 1, 2, 3].map((e) => learningRateAt(1e-3, e, null)), [1e-3, 1e-3, 1e-3, 1e-3]);
  assert.deepEqual([0, 1, 2, 3].map((e) => learningRateAt(1e-3, e, 2)), [1e-3, 1e-3, 1e-4, 1e-4]);
});

test('learning rate: linear warm-up over the run\'s first steps, (step + 1) / warmup of the epoch\'s rate', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 100].map((step) => learningRateAt(0.4, 0, null, 4, step)), [0.1, 0.2, 0.30000000000000004, 0.4, 0.4, 0.4]);
  // during a decayed epoch the warm-up scales the decayed rate; warm-up 0 or 1 changes nothing
  assert.deepEqual([0, 1].map((step) => learningRateAt(0.4, 3, 2, 2, step)), [0.02, 0.04]);
  assert.equal(learningRateAt(0.4, 0, null, 0, 0), 0.4);
  assert.equal(learningRateAt(0.4, 0, null, 1, 0), 0.4);
});

test('learning rate of a branch: the base run\'s schedule continues (epoch TC + e), the warm-up restarts', () => {
  const decayed = branchLearningRate({ lr: 2e-3, lrDecayEpoch: 4, lrWarmup: 0, epochs: 5 });
  assert.deepEqual([0, 1].map((e) => decayed(e, 100)), [2e-4, 2e-4], 'a base decayed in its last epoch: branches stay at lr/10');
  const later = branchLearningRate({ lr: 1e-3, lrDecayEpoch: 6, lrWarmup: 0, epochs: 4 });
  assert.deepEqual([0, 1, 2, 3].map((e) => later(e, 0)), [1e-3, 1e-3, 1e-4, 1e-4], 'the decay epoch counts from the base run\'s start');
  const constant = branchLearningRate({ lr: 1e-4, lrDecayEpoch: null, lrWarmup: 0, epochs: 16 });
  assert.deepEqual([0, 15].map((e) => constant(e, 0)), [1e-4, 1e-4], 'the reference: constant');
  assert.equal(branchLearningRate({ lr: 2e-4, lrDecayEpoch: 3, lrWarmup: 500, epochs: 4 })(0, 0), 2e-5 / 500);
});
