import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, truncate } from 'node:fs/promises';
import { UserError } from '../../src/io/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Adam, evaluate, hyperFor, makeBatch, disposeBatch, trainBranches, trainContinuous, trainMab, trainStep } from '../../src/train/index.js';
import type { Hyper } from '../../src/train/index.js';
import { tf } from './setup.js';
import { createTinyModel, tinyData, tinySpec, tinyStore } from './tiny.js';

const root = await mkdtemp(join(tmpdir(), 'fiveband-train-'));
after(() => rm(root, { recursive: true, force: true }));

const hyper = (overrides: Partial<Hyper> = {}): Hyper => ({
  ...hyperFor('alexnet', 'paper'), inputSize: 8, lr: 0.05, batchSize: 8, epochs: 6, branchEpochs: 2, branches: 2,
  limit: 6, refresh: 0.3, ...overrides,
});

async function weightsOf(dir: string): Promise<string> {
  return readFile(join(dir, 'tiny.json'), 'utf8');
}

test('tensor memory does not grow across training steps; the optimiser frees its moments', async () => {
  const model = createTinyModel(tinySpec(), 1);
  const adam = new Adam(model.trainable, { lr: 0.01, betas: [0.9, 0.999], weightDecay: 1e-5 });
  const shard = await tinyData().train.load(0);
  const counts: number[] = [];
  for (let i = 0; i < 4; i++) {
    const batch = makeBatch(shard, [0, 1, 2, 3], 8, true);
    trainStep(model, adam, batch, i, i % 2 === 0 ? undefined : 5);
    disposeBatch(batch);
    counts.push(tf.memory().numTensors);
  }
  assert.equal(new Set(counts).size, 1, `tensor counts ${counts}`);
  const before = tf.memory().numTensors;
  await evaluate(model, tinyData().validation);
  assert.equal(tf.memory().numTensors, before);
  adam.dispose();
  assert.equal(before - tf.memory().numTensors, 2 * model.trainable.size, 'Adam holds m and v per parameter');
  model.dispose();
});

test('continuous training learns, is deterministic, and writes curves and summary', async () => {
  const data = tinyData();
  const run = async (name: string, seed: number) => {
    const model = createTinyModel(tinySpec(), seed);
    const summary = await trainContinuous(model, { data, hyper: hyper(), seed, out: join(root, name), store: tinyStore });
    const accuracy = (await evaluate(model, data.validation)).accuracy;
    model.dispose();
    return { summary, accuracy };
  };
  const a = await run('c-a', 1);
  await run('c-b', 1);
  await run('c-c', 2);
  assert.equal(a.summary.iterations, 6 * (3 + 2));
  assert.ok(a.accuracy >= 0.8, `accuracy ${a.accuracy}`);
  assert.equal(await weightsOf(join(root, 'c-a')), await weightsOf(join(root, 'c-b')));
  assert.notEqual(await weightsOf(join(root, 'c-a')), await weightsOf(join(root, 'c-c')));
  const curves = (await readFile(join(root, 'c-a', 'curves.csv'), 'utf8')).trim().split('\n');
  assert.equal(curves[0], 'iteration,average_loss');
  assert.deepEqual(curves.slice(1).map((l) => Number(l.split(',')[0])), [4, 8, 12, 16, 20, 24, 28]);
  assert.equal(await readFile(join(root, 'c-a', 'curves.csv'), 'utf8'), await readFile(join(root, 'c-b', 'curves.csv'), 'utf8'));
  assert.ok(!(await readdir(join(root, 'c-a'))).includes('checkpoint.safetensors'));
});

test('an interrupted run resumes from its checkpoint and ends exactly like an uninterrupted one', async () => {
  const data = tinyData();
  const full = createTinyModel(tinySpec(), 3);
  await trainContinuous(full, { data, hyper: hyper(), seed: 3, out: join(root, 'r-full'), store: tinyStore });
  full.dispose();
  const interrupted = createTinyModel(tinySpec(), 3);
  await assert.rejects(trainContinuous(interrupted, {
    data, hyper: hyper(), seed: 3, out: join(root, 'r-int'), store: tinyStore, checkpointEvery: 3,
    onProgress: (iteration) => {
      if (iteration === 14) throw new Error('simulated crash');
    },
  }), /simulated crash/);
  interrupted.dispose();
  assert.ok((await readdir(join(root, 'r-int'))).includes('checkpoint.safetensors'));
  // a fresh process: new model with a different init, everything comes from the checkpoint
  const resumed = createTinyModel(tinySpec(), 99);
  const summary = await trainContinuous(resumed, { data, hyper: hyper(), seed: 3, out: join(root, 'r-int'), store: tinyStore, checkpointEvery: 3 });
  resumed.dispose();
  assert.equal(summary.iterations, 30);
  assert.equal(await weightsOf(join(root, 'r-int')), await weightsOf(join(root, 'r-full')));
  assert.equal(await readFile(join(root, 'r-int', 'curves.csv'), 'utf8'), await readFile(join(root, 'r-full', 'curves.csv'), 'utf8'));
  // a checkpoint of another configuration is refused
  const other = createTinyModel(tinySpec(), 3);
  await assert.rejects(trainContinuous(other, {
    data, hyper: hyper({ lr: 0.01 }), seed: 3, out: join(root, 'r-other'), store: tinyStore, checkpointEvery: 3,
    onProgress: (iteration) => {
      if (iteration === 4) throw new Error('stop');
    },
  }), /stop/);
  await assert.rejects(trainContinuous(other, { data, hyper: hyper(), seed: 3, out: join(root, 'r-other'), store: tinyStore }), /different configuration/);
  // a truncated checkpoint (a full disk) names itself and the way out
  const checkpoint = join(root, 'r-other', 'checkpoint.safetensors');
  await truncate(checkpoint, (await stat(checkpoint)).size - 100);
  await assert.rejects(trainContinuous(other, { data, hyper: hyper({ lr: 0.01 }), seed: 3, out: join(root, 'r-other'), store: tinyStore }),
    (e: unknown) => e instanceof UserError && e.message.startsWith(`${checkpoint}: unreadable checkpoint (not a valid safetensors file`) && e.message.endsWith('; delete it to start this run over'));
  other.dispose();
});

test('learning-rate decay: lr/10 from the decay epoch, also after resuming inside a decayed epoch', async () => {
  const data = tinyData();
  const run = async (name: string, overrides: Partial<Hyper>, crashAt?: number) => {
    const options = { data, hyper: hyper(overrides), seed: 4, out: join(root, name), store: tinyStore, checkpointEvery: 3 };
    if (crashAt !== undefined) {
      const model = createTinyModel(tinySpec(), 4);
      await assert.rejects(trainContinuous(model, { ...options, onProgress: (iteration) => {
        if (iteration === crashAt) throw new Error('simulated crash');
      } }), /simulated crash/);
      model.dispose();
    }
    const model = createTinyModel(tinySpec(), 4);
    await trainContinuous(model, options);
    model.dispose();
    return JSON.stringify((JSON.parse(await weightsOf(join(root, name))) as { values: unknown }).values);
  };
  // decay from epoch 0 is the constant lr/10
  assert.equal(await run('lr-decay-0', { lr: 0.05, lrDecayEpoch: 0 }), await run('lr-const', { lr: 0.005 }));
  const decayed = await run('lr-decay-2', { lr: 0.05, lrDecayEpoch: 2 });
  assert.notEqual(decayed, await run('lr-plain', { lr: 0.05 }));
  assert.notEqual(decayed, await run('lr-const', { lr: 0.005 }));
  // 5 iterations per epoch: the checkpoint at iteration 12 lies inside epoch 2, which must resume at lr/10
  assert.equal(await run('lr-decay-2-resumed', { lr: 0.05, lrDecayEpoch: 2 }, 14), decayed);
  // warm-up over 8 steps: different from none, and a run resumed at iteration 6 (checkpoint at step 6) warms up the same
  const warmed = await run('lr-warmup', { lr: 0.05, lrWarmup: 8 });
  assert.notEqual(warmed, await run('lr-plain', { lr: 0.05 }));
  assert.equal(await run('lr-warmup-resumed', { lr: 0.05, lrWarmup: 8 }, 7), warmed);
});

test('branches mode: base model, then branches with regular evaluation, early stopping and summaries', async () => {
  const data = tinyData({ validationShards: [8, 8, 8] });
  const out = join(root, 'branches');
  const result = await trainBranches(() => createTinyModel(tinySpec(), 5), {
    data, hyper: hyper({ target: 0.9 }), seed: 5, out, store: { ...tinyStore, load: tinyStore.load },
  });
  assert.equal(result.branches.length, 2);
  for (const [i, b] of result.branches.entries()) {
    assert.equal(b.branch, i + 1);
    assert.equal(b.startIteration, 30);
    assert.ok(b.iterations > 30 && b.iterations <= 30 + 2 * 5);
    assert.ok(b.totalValidationAccuracy >= 0 && b.totalValidationAccuracy <= 1);
    assert.equal(b.reachedTarget, b.earlyStopping === 'S1');
    if (b.earlyStopping === 'S1') assert.ok(b.bestAccuracy >= 0.9);
    const files = await readdir(join(out, `branch-${i + 1}`));
    assert.deepEqual(files.sort(), ['curves.csv', 'summary.json', 'tiny.json']);
    const curve = (await readFile(join(out, `branch-${i + 1}`, 'curves.csv'), 'utf8')).trim().split('\n');
    assert.equal(curve[0], 'iteration,average_loss,validation_shard,validation_accuracy,best_accuracy,n_early');
    assert.ok(curve.slice(1).every((l) => Number(l.split(',')[0]) % 4 === 0));
  }
  // each branch has its own seed: different data order, validation draws and dropout
  assert.notEqual(await readFile(join(out, 'branch-1', 'curves.csv'), 'utf8'), await readFile(join(out, 'branch-2', 'curves.csv'), 'utf8'));
  const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.branches.length, 2);
});

test('branch patience: a target that cannot be reached ends by S2 within the limit', async () => {
  const data = tinyData({ validationShards: [8, 8] });
  const out = join(root, 'branches-s2');
  const result = await trainBranches(() => createTinyModel(tinySpec(), 6), {
    data, hyper: hyper({ epochs: 1, target: 1.01, limit: 2, refresh: 0, branches: 1, branchEpochs: 12 }), seed: 6, out, store: tinyStore,
  });
  const b = result.branches[0]!;
  assert.equal(b.earlyStopping, 'S2');
  assert.equal(b.reachedTarget, false);
  const rows = (await readFile(join(out, 'branch-1', 'curves.csv'), 'utf8')).trim().split('\n').slice(1).map((l) => l.split(',').map(Number));
  assert.equal(rows.at(-1)![5], 2);
});

test('mab mode trains the joint loss, validates each epoch on the whole split and stops at the target', async () => {
  const data = tinyData();
  const out = join(root, 'mab');
  const model = createTinyModel(tinySpec(), 7);
  const summary = await trainMab(model, {
    data, hyper: hyper({ lr: 0.05, betas: [0.5, 0.999], weightDecay: 0, epochs: 10, minEpoch: 1, mabTarget: 0.9, lambda: 5 }), seed: 7, out, store: tinyStore,
  });
  model.dispose();
  const validation = (await readFile(join(out, 'validation.csv'), 'utf8')).trim().split('\n');
  assert.equal(validation[0], 'epoch,validation_accuracy');
  assert.equal(validation.length - 1, summary.epochs);
  assert.ok(summary.stoppedAtTarget ? summary.bestAccuracy >= 0.9 && summary.epochs >= 3 : summary.epochs === 10);
  const curve = (await readFile(join(out, 'curves.csv'), 'utf8')).trim().split('\n');
  assert.equal(curve[0], 'iteration,loss,ce_loss,mab_loss');
  const first = curve[1]!.split(',').map(Number);
  assert.ok(Math.abs(first[1]! - (first[2]! + 5 * first[3]!)) < 1e-4);
  assert.equal(curve.length - 1, summary.iterations);
  const last = curve.at(-1)!.split(',').map(Number);
  assert.ok(last[3]! < first[3]!, 'band loss decreases');
});

test('makeBatch scales to [0, 1] and resizes to the model input', async () => {
  const shard = await tinyData({ size: 16 }).train.load(0);
  const same = makeBatch(shard, [2], 16, true);
  assert.ok(Math.abs(same.x.dataSync()[5]! - shard.images[2 * 16 * 16 * 3 + 5]! / 255) < 1e-7);
  assert.deepEqual(Array.from(same.bands!.dataSync()), Array.from(shard.bands!.subarray(2 * 256, 3 * 256)));
  const small = makeBatch(shard, [2, 0], 8, true);
  assert.deepEqual(small.x.shape, [2, 8, 8, 3]);
  assert.deepEqual(small.bands!.shape, [2, 8, 8]);
  assert.deepEqual(Array.from(small.labels.dataSync()), [shard.labels[2], shard.labels[0]]);
  disposeBatch(same);
  disposeBatch(small);
});
