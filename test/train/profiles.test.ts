import assert from 'node:assert/strict';
import { test } from 'node:test';
import { defaultMode, hyperFor, resolveHyper, trainingSpec } from '../../src/train/index.js';

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
  // the depth experiment's blocks start kaiming in both profiles; --block-init pytorch restores the reference's
  const depth = { arch: 'alexnet-depth', profile: 'small' } as const;
  assert.equal(resolveHyper(depth, 128, 'continuous').blockInit, 'kaiming');
  assert.equal(hyperFor('alexnet-depth', 'paper').blockInit, 'kaiming');
  assert.equal(resolveHyper({ ...depth, blockInit: 'pytorch' }, 128, 'continuous').blockInit, 'pytorch');
  assert.deepEqual(trainingSpec('alexnet-depth', resolveHyper(depth, 128, 'continuous'), 10, 4),
    { arch: 'alexnet-depth', inputSize: 128, numClasses: 10, width: 0.25, depth: 4, blockInit: 'kaiming' });
  assert.equal(hyperFor('alexnet', 'small').blockInit, undefined);
  assert.throws(() => resolveHyper({ ...base, blockInit: 'kaiming' }, 512, 'continuous'), /alexnet-depth only/);
});

test('--epochs keeps the profile\'s learning-rate decay at the same distance from the end of the run', () => {
  // small profile: the last 2 epochs decayed (SPA: the last 3); a shorter or longer run keeps that tail
  assert.deepEqual([hyperFor('resnet34', 'small').epochs, hyperFor('resnet34', 'small').lrDecayEpoch], [8, 6]);
  assert.equal(resolveHyper({ arch: 'resnet34', profile: 'small', epochs: 4 }, 128, 'continuous').lrDecayEpoch, 2);
  assert.equal(resolveHyper({ arch: 'alexnet', profile: 'small', epochs: 3 }, 128, 'continuous').lrDecayEpoch, 1);
  assert.equal(resolveHyper({ arch: 'resnet34', profile: 'small', epochs: 12 }, 128, 'continuous').lrDecayEpoch, 10);
  assert.equal(resolveHyper({ arch: 'spa', profile: 'small', epochs: 10 }, 128, 'mab').lrDecayEpoch, 7);
  // a run shorter than the tail is decayed throughout, never from a negative epoch
  assert.equal(resolveHyper({ arch: 'spa', profile: 'small', epochs: 2 }, 128, 'mab').lrDecayEpoch, 0);
  // unchanged epochs: the profile's decay
  assert.equal(resolveHyper({ arch: 'vgg16', profile: 'small' }, 128, 'continuous').lrDecayEpoch, 6);
  // an explicit --lr-decay-epoch wins, whatever the epochs
  assert.equal(resolveHyper({ arch: 'resnet34', profile: 'small', epochs: 4, lrDecayEpoch: 3 }, 128, 'continuous').lrDecayEpoch, 3);
  // branches mode: the decay follows the base model's epochs (--base-epochs); --epochs there sets the branches'
  assert.equal(resolveHyper({ arch: 'resnet34', profile: 'small', baseEpochs: 5 }, 128, 'branches').lrDecayEpoch, 3);
  assert.equal(resolveHyper({ arch: 'resnet34', profile: 'small', epochs: 2 }, 128, 'branches').lrDecayEpoch, 6);
  // the paper profile has no decay and keeps none
  assert.equal(resolveHyper({ arch: 'alexnet', profile: 'paper', epochs: 3 }, 512, 'continuous').lrDecayEpoch, null);
  assert.equal(resolveHyper({ arch: 'spa', profile: 'paper', epochs: 3 }, 512, 'mab').lrDecayEpoch, null);
});
