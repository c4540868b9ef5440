import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { generateDataset, openDataset } from '../../src/data/index.js';
import { createModel, loadModel, saveModel } from '../../src/nn/index.js';
import {
  branchesOnThreads, hyperFor, trainBranches, trainingDataOf, type Hyper, type ModelStore,
} from '../../src/train/index.js';
import { spec } from '../nn/helpers.js';
import './setup.js';

const root = await mkdtemp(join(tmpdir(), 'fiveband-branch-threads-'));
after(() => rm(root, { recursive: true, force: true }));

const store: ModelStore = { save: saveModel, load: loadModel };

test('branches trained on worker threads, two at once, equal branches trained one after another, byte for byte', async () => {
  const dataDir = join(root, 'data');
  await generateDataset({ out: dataDir, size: 64, seed: 3, shards: { train: 2, val: 2, test: 1 }, perShard: 8, workers: 1 });
  const data = trainingDataOf(await openDataset(dataDir));
  const hyper: Hyper = {
    ...hyperFor('alexnet', 'small'), inputSize: 64, width: 0.0625, lr: 1e-3, batchSize: 4, epochs: 1, branchEpochs: 2, branches: 3,
    lrDecayEpoch: null, limit: 2,
  };
  const arch = spec('alexnet', 64, 10, 0.0625);
  const common = { data, hyper, seed: 5, store };
  const sequential = await trainBranches(() => createModel(arch, 5), { ...common, out: join(root, 'one') });
  const progress: number[][] = [];
  const parallel = await trainBranches(() => createModel(arch, 5), {
    ...common, out: join(root, 'two'), baseDir: sequential.base, concurrentBranches: 2,
    runBranch: branchesOnThreads({ dataDir, hyper }),
    onProgress: (done, total) => progress.push([done, total]),
  });
  assert.ok(sequential.branches.every((b) => b.iterations > b.startIteration), 'branches trained');
  assert.deepEqual(parallel.branches, sequential.branches);
  for (let b = 1; b <= 3; b++) {
    const weights = (dir: string) => readFile(join(root, dir, `branch-${b}`, 'weights.safetensors'));
    assert.ok((await weights('one')).equals(await weights('two')), `branch ${b} weights`);
    const curves = (dir: string) => readFile(join(root, dir, `branch-${b}`, 'curves.csv'), 'utf8');
    assert.equal(await curves('two'), await curves('one'));
  }
  // progress is the sum over the branches, towards 3 branches × 2 epochs × 4 iterations unless they stop early
  assert.ok(progress.length > 0);
  const last = progress.at(-1)!;
  assert.equal(last[0], parallel.branches.reduce((s, b) => s + b.iterations - b.startIteration, 0));
  assert.ok(progress.every(([done, total]) => done <= total && total <= 3 * 2 * 4));
});

test('a branch thread that fails rejects with its error', async () => {
  const runner = branchesOnThreads({ dataDir: join(root, 'no-such-dataset'), hyper: hyperFor('alexnet', 'small') });
  await assert.rejects(runner({ branch: 1, startIteration: 0, seed: 1, out: join(root, 'x'), baseDir: join(root, 'none') }, () => {}),
    /no-such-dataset/);
});
