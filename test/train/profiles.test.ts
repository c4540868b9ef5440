import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveHyper } from '../../src/cli/train.js';
import { defaultMode, hyperFor } from '../../src/train/index.js';

test('the paper profile holds table I, §2.2, §2.5 and §4.2', () => {
  const pick = (arch: Parameters<typeof hyperFor>[0]) => {
    const h = hyperFor(arch, 'paper');
    return [h.inputSize, h.width, h.lr, h.betas, h.weightDecay, h.batchSize, h.epochs, h.branchEpochs, h.limit, h.refresh, h.target, h.every];
  };
  assert.deepEqual(pick('resnet34'), [512, 1, 1e-3, [0.9, 0.999], 1e-5, 4, 2, 4, 24, 0.4, 0.96, 4]);
  assert.deepEqual(pick('alexnet'), [224, 1, 1e-4, [0.9, 0.999], 1e-5, 16, 16, 16, 48, 0.3, 0.96, 4]);
  assert.deepEqual(pick('vgg16'), [224, 1, 1e-4, [0.9, 0.999], 1e-5, 16, 4, 4, 48, 0.3, 0.96, 4]);
  assert.deepEqual(pick('alexnet-depth'), pick('alexnet'));
  const spa = hyperFor('spa', 'paper');
  assert.deepEqual([spa.lr, spa.betas, spa.weightDecay, spa.batchSize, spa.epochs, spa.minEpoch, spa.lambda, spa.mabTarget],
    [1e-3, [0.5, 0.999], 0, 16, 128, 12, 5, 0.975]);
  assert.equal(defaultMode('spa'), 'mab');
  assert.equal(defaultMode('vgg16'), 'continuous');
  // a fresh copy each time: callers may edit it
  hyperFor('alexnet', 'paper').lr = 1;
  assert.equal(hyperFor('alexnet', 'paper').lr, 1e-4);
});

test('command-line overrides: sizes bounded by the data, epochs per mode, SPA at the data size in the paper profile', () => {
  const base = { arch: 'alexnet' as const, profile: 'paper' as const };
  assert.equal(resolveHyper(base, 512, 'continuous').inputSize, 224);
  assert.equal(resolveHyper(base, 128, 'continuous').inputSize, 128);
  assert.equal(resolveHyper({ ...base, size: 96 }, 128, 'continuous').inputSize, 96);
  assert.throws(() => resolveHyper({ ...base, size: 256 }, 128, 'continuous'), /--size 256 is larger than the data's 128×128/);
  assert.equal(resolveHyper({ arch: 'spa', profile: 'paper' }, 256, 'mab').inputSize, 256);
  const branches = resolveHyper({ ...base, epochs: 3, baseEpochs: 2, lr: 0.01, batch: 8, branches: 2 }, 512, 'branches');
  assert.deepEqual([branches.branchEpochs, branches.epochs, branches.lr, branches.batchSize, branches.branches], [3, 2, 0.01, 8, 2]);
  const continuous = resolveHyper({ ...base, epochs: 3 }, 512, 'continuous');
  assert.deepEqual([continuous.epochs, continuous.branchEpochs], [3, 16]);
  const mab = resolveHyper({ arch: 'spa', profile: 'small', lambda: 10, minEpoch: -1 }, 128, 'mab');
  assert.deepEqual([mab.lambda, mab.minEpoch], [10, -1]);
  // one micro-batch (the reference's plain step) unless asked
  assert.equal(resolveHyper(base, 512, 'continuous').microBatches, 1);
  assert.equal(resolveHyper({ arch: 'resnet34', profile: 'small' }, 128, 'continuous').microBatches, 1);
  // warm-up: none in the paper profile (the reference), 500 steps for the small VGG16, overridable
  assert.equal(resolveHyper(base, 512, 'continuous').lrWarmup, 0);
  assert.deepEqual([hyperFor('vgg16', 'small').lr, hyperFor('vgg16', 'small').lrWarmup], [2e-4, 500]);
  assert.equal(resolveHyper({ arch: 'vgg16', profile: 'small', lrWarmup: 0 }, 128, 'continuous').lrWarmup, 0);
  assert.equal(resolveHyper({ ...base, microBatches: 2 }, 512, 'continuous').microBatches, 2);
});
