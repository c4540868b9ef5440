/**
 * `npm run bench:train`: images/s of a training step (forward + backward + Adam, the mab joint loss for
 * SPA), an eval-mode forward pass and an input gradient (d target logit / d input, what attribution
 * methods need), per model, batch 16, at the small profile's input size and width and at 224 (same width).
 * With PyTorch importable by python3, the same measurements run on the equivalent torch model
 * (bench/train_torch.py, 2 threads) and our/torch ratios are printed. The training step is also measured
 * data-parallel: `--threads` micro-batches of the batch on as many threads (StepRunner).
 *
 *   npm run bench:train [-- --archs alexnet,spa --sizes default,224 --backend wasm --seconds 3 --threads 2]
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, type Arch, type ArchSpec, type Model } from '../src/nn/index.js';
import { backendInfo, initBackend, type BackendName } from '../src/compute/index.js';
import { Rng } from '../src/rng/index.js';
import { Adam, StepRunner, hyperFor, trainStep, type Batch } from '../src/train/index.js';
import { torchPython } from '../test/python-torch.js';

const { values: args } = parseArgs({
  options: {
    archs: { type: 'string', default: 'alexnet,vgg16,resnet34,spa' },
    sizes: { type: 'string', default: 'default,224' },
    backend: { type: 'string', default: 'wasm' },
    batch: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    torch: { type: 'boolean', default: true },
  },
});
const BATCH = Number(args.batch);
const SECONDS = Number(args.seconds);
const THREADS = Number(args.threads);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Rates { train: number; forward: number; inputGrad: number }
interface OurRates extends Rates { trainThreads: number }

/** Images/s of `fn`: one warm-up call, then calls for at least `SECONDS` (at least 2). */
async function rate(fn: () => unknown): Promise<number> {
  await fn();
  let calls = 0;
  const t0 = performance.now();
  while (calls < 2 || performance.now() - t0 < SECONDS * 1000) {
    await fn();
    calls += 1;
  }
  return (BATCH * calls) / ((performance.now() - t0) / 1000);
}

function batchFor(spec: ArchSpec): Batch {
  const rng = Rng.derive(0, 'bench-train', spec.arch);
  const n = spec.inputSize;
  return {
    x: tf.tensor4d(Float32Array.from({ length: BATCH * n * n * 3 }, () => rng.next()), [BATCH, n, n, 3]),
    labels: tf.tensor1d(Int32Array.from({ length: BATCH }, () => rng.int(0, spec.numClasses)), 'int32'),
    bands: tf.tensor3d(Int32Array.from({ length: BATCH * n * n }, () => rng.int(0, 3)), [BATCH, n, n], 'int32'),
  };
}

async function measure(model: Model, batch: Batch): Promise<OurRates> {
  const hyper = hyperFor(model.spec.arch, 'small');
  const adam = new Adam(model.trainable, { lr: hyper.lr, betas: hyper.betas, weightDecay: hyper.weightDecay });
  const lambda = model.spec.arch === 'spa' ? hyper.lambda : undefined;
  let iteration = 0;
  const train = await rate(() => trainStep(model, adam, batch, iteration++, lambda));
  const runner = await StepRunner.start(model, { microBatches: THREADS, threads: THREADS, ...(lambda === undefined ? {} : { lambda }) });
  const trainThreads = await rate(() => runner.step(adam, batch, iteration++));
  await runner.close();
  adam.dispose();
  const forward = await rate(() => tf.tidy(() => model.forward(batch.x).logits.dataSync()));
  const inputGrad = await rate(() => tf.tidy(() => {
    const gradient = tf.grad((x: tf.Tensor) => {
      const logits = model.forward(x as tf.Tensor4D).logits;
      return tf.sum(tf.mul(logits, tf.oneHot(tf.argMax(logits, 1), model.spec.numClasses)));
    });
    gradient(batch.x).dataSync();
  }));
  return { train, trainThreads, forward, inputGrad };
}

function torchAvailable(): boolean {
  return args.torch && torchPython !== null;
}

function torchRates(spec: ArchSpec): Rates | null {
  const r = spawnSync(torchPython!, [join(ROOT, 'bench', 'train_torch.py'), JSON.stringify(spec), '--batch', String(BATCH), '--threads', '2',
    '--seconds', String(SECONDS)], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`torch bench failed for ${spec.arch}: ${r.stderr.trim().split('\n').at(-1)}\n`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Rates;
}

await initBackend(args.backend as BackendName);
const info = await backendInfo();
const withTorch = torchAvailable();
process.stdout.write(`backend ${info.name}${info.name === 'wasm' ? ` (simd ${info.simd}, ${info.threads} thread)` : ''}, batch ${BATCH}, `
  + `${withTorch ? 'torch 2 threads' : 'torch not available (python3 -c "import torch" failed)'}\n`);
const header = ['model', 'input', 'width', 'train img/s', `train img/s ${THREADS} threads`, 'forward img/s', 'input-grad img/s',
  ...(withTorch ? ['torch train', 'torch fwd', 'torch grad', 'train ratio', `train ratio ${THREADS} threads`, 'fwd ratio', 'grad ratio'] : [])];
process.stdout.write(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n`);
const f = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
for (const arch of args.archs.split(',') as Arch[]) {
  const small = hyperFor(arch, 'small');
  for (const size of args.sizes.split(',')) {
    const spec: ArchSpec = { arch, inputSize: size === 'default' ? small.inputSize : Number(size), numClasses: 10, width: small.width };
    const model = createModel(spec, 0);
    const batch = batchFor(spec);
    const ours = await measure(model, batch);
    tf.dispose([batch.x, batch.labels, batch.bands!]);
    model.dispose();
    const row = [arch, String(spec.inputSize), String(spec.width), f(ours.train), f(ours.trainThreads), f(ours.forward), f(ours.inputGrad)];
    if (withTorch) {
      const theirs = torchRates(spec);
      row.push(...(theirs
        ? [f(theirs.train), f(theirs.forward), f(theirs.inputGrad), (ours.train / theirs.train).toFixed(2), (ours.trainThreads / theirs.train).toFixed(2),
          (ours.forward / theirs.forward).toFixed(2), (ours.inputGrad / theirs.inputGrad).toFixed(2)]
        : ['-', '-', '-', '-', '-', '-', '-']));
    }
    process.stdout.write(`| ${row.join(' | ')} |\n`);
  }
}
