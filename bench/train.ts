/**
 * `npm run bench:train`: images/s of a training step (forward + backward + Adam, the mab joint loss for
 * SPA), an eval-mode forward pass and an input gradient (d target logit / d input, what attribution
 * methods need), per model, batch 16, at the small profile's input size and width and at 224 (same width),
 * on each backend side by side: native (`--threads` OpenMP threads; when built), wasm (one thread); and the
 * training step data-parallel on each: `--threads` micro-batches on as many worker threads (StepRunner), one
 * thread each. With PyTorch 1.13 (a python
 * with torch, see test/python-torch.ts) the same measurements run on the equivalent torch model
 * (bench/train_torch.py, `--threads` threads), default NCHW and tuned channels-last, and the ratios of the
 * first backend to both are printed. Each model is measured on each backend in a process of its own.
 *
 *   npm run bench:train [-- --archs alexnet,spa --sizes default,224 --backends native,wasm --seconds 3 --threads 2]
 *
 * `--memory-steps n` measures memory instead: the process's resident set after each of n training steps of the
 * first arch at the first size on each backend (a leak grows it step after step; a steady state stays flat).
 *
 *   npm run bench:train -- --memory-steps 60 --archs resnet34 --sizes 224
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { createModel, type Arch, type ArchSpec, type Model } from '../src/nn/index.js';
import { backendInfo, initBackend, loadNativeAddon, type BackendName } from '../src/compute/index.js';
import { Rng } from '../src/rng/index.js';
import { Adam, StepRunner, hyperFor, trainStep, type Batch } from '../src/train/index.js';
import { torchPython } from '../test/python-torch.js';

const { values: args } = parseArgs({
  options: {
    archs: { type: 'string', default: 'alexnet,vgg16,resnet34,spa' },
    sizes: { type: 'string', default: 'default,224' },
    backends: { type: 'string', default: 'native,wasm' },
    batch: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '3' },
    threads: { type: 'string', default: '2' },
    torch: { type: 'boolean', default: true },
    /** Internal: measure one model on one backend (the first of --archs, --sizes, --backends) and print its rates as JSON. */
    'measure-one': { type: 'boolean', default: false },
    /** Instead of the rates: resident memory over this many training steps of the first arch at the first size. */
    'memory-steps': { type: 'string' },
  },
});
const BATCH = Number(args.batch);
const SECONDS = Number(args.seconds);
const THREADS = Number(args.threads);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Rates { train: number; forward: number; inputGrad: number }
interface OurRates extends Rates { trainThreads?: number }

/**
 * Images/s of `fn` in the steady state: warm-up calls for at least 1 s (V8 optimises the step's JavaScript only
 * after some dozens of calls; a training run makes thousands), then calls for at least `SECONDS` (at least 2).
 */
async function rate(fn: () => unknown): Promise<number> {
  for (const start = performance.now(); performance.now() - start < 1000;) await fn();
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

/** The rates on the active backend; with `dataParallel`, also the training step as micro-batches on THREADS worker threads (one thread each). */
async function measure(model: Model, batch: Batch, dataParallel: boolean): Promise<OurRates> {
  const hyper = hyperFor(model.spec.arch, 'small');
  const adam = new Adam(model.trainable, { lr: hyper.lr, betas: hyper.betas, weightDecay: hyper.weightDecay });
  const lambda = model.spec.arch === 'spa' ? hyper.lambda : undefined;
  let iteration = 0;
  const train = await rate(() => trainStep(model, adam, batch, iteration++, lambda));
  let trainThreads: number | undefined;
  if (dataParallel) {
    // As `train --micro-batches` runs: every part, the main thread's included, on one thread. (With its OpenMP
    // threads left on, the main thread's spinning workers took the cores from the replicas, and later
    // measurements in the process ran at half speed.)
    const backend = tf.getBackend() as BackendName;
    await initBackend(backend, { threads: 1 });
    const runner = await StepRunner.start(model, { microBatches: THREADS, threads: THREADS, ...(lambda === undefined ? {} : { lambda }) });
    trainThreads = await rate(() => runner.step(adam, batch, iteration++));
    await runner.close();
    await initBackend(backend, { threads: THREADS });
  }
  adam.dispose();
  const forward = await rate(() => tf.tidy(() => model.forward(batch.x).logits.dataSync()));
  const inputGrad = await rate(() => tf.tidy(() => {
    const gradient = tf.grad((x: tf.Tensor) => {
      const logits = model.forward(x as tf.Tensor4D).logits;
      return tf.sum(tf.mul(logits, tf.oneHot(tf.argMax(logits, 1), model.spec.numClasses)));
    });
    gradient(batch.x).dataSync();
  }));
  return { train, ...(trainThreads === undefined ? {} : { trainThreads }), forward, inputGrad };
}

function torchAvailable(): boolean {
  return args.torch && torchPython !== null;
}

function torchRates(spec: ArchSpec, channelsLast: boolean): Rates | null {
  const r = spawnSync(torchPython!, [join(ROOT, 'bench', 'train_torch.py'), JSON.stringify(spec), '--batch', String(BATCH), '--threads', String(THREADS),
    '--seconds', String(SECONDS), ...(channelsLast ? ['--channels-last'] : [])], { encoding: 'utf8' });
  if (r.status !== 0) {
    process.stderr.write(`torch bench failed for ${spec.arch}: ${r.stderr.trim().split('\n').at(-1)}\n`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Rates;
}

const backends = args.backends.split(',').filter((b) => b !== 'native' || !('error' in loadNativeAddon())) as BackendName[];

if (args['memory-steps'] !== undefined) {
  const steps = Number(args['memory-steps']);
  const arch = args.archs.split(',')[0] as Arch;
  const small = hyperFor(arch, 'small');
  const size = args.sizes.split(',')[0]!;
  const spec: ArchSpec = { arch, inputSize: size === 'default' ? small.inputSize : Number(size), numClasses: 10, width: small.width };
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  process.stdout.write(`resident memory (MB) over ${steps} training steps of ${arch} at ${spec.inputSize}, width ${spec.width}, batch ${BATCH}\n`);
  process.stdout.write('| backend | after step 1 | after 25 % | after 50 % | after 75 % | last | max | growth over the second half |\n|---|---|---|---|---|---|---|---|\n');
  for (const b of backends) {
    await initBackend(b, { threads: THREADS });
    const model = createModel(spec, 0);
    const batch = batchFor(spec);
    const hyper = hyperFor(arch, 'small');
    const adam = new Adam(model.trainable, { lr: hyper.lr, betas: hyper.betas, weightDecay: hyper.weightDecay });
    const rss: number[] = [];
    for (let i = 0; i < steps; i++) {
      trainStep(model, adam, batch, i, arch === 'spa' ? hyper.lambda : undefined);
      rss.push(process.memoryUsage.rss());
    }
    const at = (q: number) => rss[Math.min(steps - 1, Math.floor(q * (steps - 1)))]!;
    process.stdout.write(`| ${b} | ${mb(rss[0]!)} | ${mb(at(0.25))} | ${mb(at(0.5))} | ${mb(at(0.75))} | ${mb(rss[steps - 1]!)} | ${mb(Math.max(...rss))} | ${mb(rss[steps - 1]! - at(0.5))} |\n`);
    adam.dispose();
    tf.dispose([batch.x, batch.labels, batch.bands!]);
    model.dispose();
  }
  process.exit(0);
}

function specFor(arch: Arch, size: string): ArchSpec {
  const small = hyperFor(arch, 'small');
  return { arch, inputSize: size === 'default' ? small.inputSize : Number(size), numClasses: 10, width: small.width };
}

if (args['measure-one']) {
  const backend = backends[0]!;
  await initBackend(backend, { threads: THREADS });
  const spec = specFor(args.archs.split(',')[0] as Arch, args.sizes.split(',')[0]!);
  const model = createModel(spec, 0);
  process.stdout.write(`${JSON.stringify(await measure(model, batchFor(spec), true))}\n`);
  process.exit(0);
}

/**
 * Each model on each backend in a process of its own: measured one after another in one process, the later ones
 * ran up to 4× slower (what an earlier backend's and data-parallel run's threads and heaps left behind).
 */
function measureApart(arch: Arch, size: string, backend: BackendName): OurRates {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--measure-one', '--archs', arch, '--sizes', size, '--backends', backend,
    '--threads', String(THREADS), '--batch', String(BATCH), '--seconds', String(SECONDS)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`measuring ${arch} ${size} on ${backend} failed: ${r.stderr.trim().split('\n').at(-1)}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as OurRates;
}

const withTorch = torchAvailable();
const described: string[] = [];
for (const b of backends) {
  await initBackend(b, { threads: THREADS });
  const info = await backendInfo();
  described.push(`${b} (${info.library ? `${info.library}, ${info.isa}, ` : ''}${info.simd ? 'simd, ' : ''}${info.threads} thread${info.threads === 1 ? '' : 's'})`);
}
process.stdout.write(`backends ${described.join(', ')}; batch ${BATCH}; `
  + `${withTorch ? `torch ${THREADS} threads, NCHW and channels-last (CL)` : 'torch not available'}; images/s\n`);
const f = (v: number | undefined) => (v === undefined ? '-' : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '-' : (a / b).toFixed(2));
const first = backends[0]!;
const header = ['model', 'input', 'width', 'measure', ...backends, ...backends.map((b) => `${b} ×${THREADS} data-parallel`),
  ...(withTorch ? ['torch', 'torch CL', `${first}/torch`, `${first}/torch CL`] : [])];
process.stdout.write(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n`);
for (const arch of args.archs.split(',') as Arch[]) {
  for (const size of args.sizes.split(',')) {
    const spec = specFor(arch, size);
    const ours = new Map<BackendName, OurRates>(backends.map((b) => [b, measureApart(arch, size, b)]));
    const torch = withTorch ? torchRates(spec, false) : null;
    const torchCl = withTorch ? torchRates(spec, true) : null;
    for (const measureName of ['train', 'forward', 'inputGrad'] as const) {
      const row = [arch, String(spec.inputSize), String(spec.width), measureName, ...backends.map((b) => f(ours.get(b)![measureName])),
        ...backends.map((b) => (measureName === 'train' ? f(ours.get(b)!.trainThreads) : '-'))];
      if (withTorch) {
        const mine = ours.get(first)![measureName];
        row.push(f(torch?.[measureName]), f(torchCl?.[measureName]), ratio(mine, torch?.[measureName]), ratio(mine, torchCl?.[measureName]));
      }
      process.stdout.write(`| ${row.join(' | ')} |\n`);
    }
  }
}
