/**
 * `npm run bench:explain`: ms per image of every attribution method, per model of the small (default)
 * training profile, at its input size and at 224 (same width), on each backend side by side (native with
 * `--threads` OpenMP threads when built; wasm, one thread). With PyTorch 1.13 (a python with torch, see
 * test/python-torch.ts) the same methods written in plain torch autograd with Captum's semantics
 * (bench/explain_torch.py, same weights, `--threads` threads) are timed too, and the first backend's speed
 * relative to torch is printed (torch ms / ours: ≥ 1 is as fast or faster).
 *
 * Protocol, both sides: a warm-up call on one image, then warm-up calls on the batch for at least 1 s (V8 optimises
 * a method's JavaScript only after some dozens of kernel calls; a study makes thousands), then the best of `--repeats` timed calls on `--batch`
 * images; target = predicted class; IG 50 steps, internal batch 16 rows; SHAP 4 baselines (GradientShap 5 draws).
 * `--rounds` times over, our side then torch's, each keeping its best.
 *
 *   npm run bench:explain [-- --archs alexnet,spa --sizes default,224 --batch 2 --repeats 3 --rounds 2 --backends native,wasm --threads 2]
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { lastSpatialConv } from '../src/attribution/grad-cam.js';
import { getMethod, predictedClasses, resolveMethods } from '../src/attribution/index.js';
import { createModel, saveModel, type Arch, type ArchSpec } from '../src/nn/index.js';
import { backendInfo, initBackend, loadNativeAddon, type BackendName } from '../src/compute/index.js';
import { Rng } from '../src/rng/index.js';
import { hyperFor } from '../src/train/index.js';
import { torchPython } from '../test/python-torch.js';

const { values: args } = parseArgs({
  options: {
    archs: { type: 'string', default: 'alexnet,vgg16,resnet34,spa' },
    sizes: { type: 'string', default: 'default,224' },
    methods: { type: 'string', default: 'all' },
    backends: { type: 'string', default: 'native,wasm' },
    batch: { type: 'string', default: '2' },
    repeats: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '2' },
    torch: { type: 'boolean', default: true },
    threads: { type: 'string', default: '2' },
  },
});
const BATCH = Number(args.batch);
const REPEATS = Number(args.repeats);
const ROUNDS = Number(args.rounds);
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const THREADS = Number(args.threads);
const backends = args.backends.split(',').filter((b) => b !== 'native' || !('error' in loadNativeAddon())) as BackendName[];
const described: string[] = [];
for (const b of backends) {
  await initBackend(b, { threads: THREADS });
  const info = await backendInfo();
  described.push(`${b} (${info.library ? `${info.library}, ` : ''}${info.simd ? 'simd, ' : ''}${info.threads} thread${info.threads === 1 ? '' : 's'})`);
}
const withTorch = args.torch && torchPython !== null;
process.stdout.write(`backends ${described.join(', ')}; batch ${BATCH}, best of ${REPEATS} in each of ${ROUNDS} rounds; `
  + `${withTorch ? `torch ${THREADS} threads` : 'torch not available'}; ms per image\n`);

const scratch = await mkdtemp(join(tmpdir(), 'fiveband-bench-explain-'));
const f = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
try {
  for (const arch of args.archs.split(',') as Arch[]) {
    const small = hyperFor(arch, 'small');
    for (const size of args.sizes.split(',')) {
      const spec: ArchSpec = { arch, inputSize: size === 'default' ? small.inputSize : Number(size), numClasses: 10, width: small.width };
      await initBackend(backends[0]!, { threads: THREADS });
      const model = createModel(spec, 0);
      // Methods that do not apply to an architecture (LRP on ResNet34 and SPA) are left out of its table.
      const wanted = args.methods === 'all' ? null : new Set(args.methods.split(',').map((m) => getMethod(m).name)); // unknown names fail
      const methods = resolveMethods('all', model).filter((m) => m.name !== 'mab' && (wanted === null || wanted.has(m.name)));
      const rng = Rng.derive(0, 'bench-explain', arch, spec.inputSize);
      const n = spec.inputSize;
      const x = tf.tensor4d(Float32Array.from({ length: BATCH * n * n * 3 }, () => rng.next()), [BATCH, n, n, 3]);
      const first = tf.slice(x, [0], [1]);
      const targets = predictedClasses(model, x);
      const ours = new Map<BackendName, Record<string, number>>();
      let theirs: Record<string, number> | null = null;
      const keepBest = (into: Record<string, number>, times: Record<string, number>) => {
        for (const [name, ms] of Object.entries(times)) into[name] = Math.min(into[name] ?? Infinity, ms);
      };
      const pixels = x.dataSync().slice();
      // Rounds alternate our side and torch's, each keeping its best: on a shared machine a slow spell then hits
      // one round of one side, not a whole side.
      for (let round = 0; round < ROUNDS; round++) {
        for (const backend of backends) {
          await initBackend(backend, { threads: THREADS });
          // Each backend gets its own model (the same seeded weights) and inputs: no tensor moves between backends.
          const copy = createModel(spec, 0);
          const [xb, firstb] = tf.tidy(() => { const t = tf.tensor4d(pixels, x.shape); return [t, tf.slice(t, [0], [1])]; });
          const times: Record<string, number> = {};
          for (const method of methods) {
            method.attribute(copy, firstb!, targets.slice(0, 1), { seed: 0 });
            for (const start = performance.now(); performance.now() - start < 1000;) method.attribute(copy, xb!, targets, { seed: 0 });
            let best = Infinity;
            for (let r = 0; r < REPEATS; r++) {
              const t0 = performance.now();
              method.attribute(copy, xb!, targets, { seed: 0 });
              best = Math.min(best, performance.now() - t0);
            }
            times[method.name] = best / BATCH;
          }
          if (!ours.has(backend)) ours.set(backend, {});
          keepBest(ours.get(backend)!, times);
          copy.dispose();
          tf.dispose([xb!, firstb!]);
        }
        if (withTorch) {
          const dir = join(scratch, `${arch}-${n}`);
          if (round === 0) await saveModel(dir, model);
          const r = spawnSync(torchPython!, [join(ROOT, 'bench', 'explain_torch.py'), dir, '--batch', String(BATCH), '--repeats', String(REPEATS), '--layer', model.firstConv, '--cam-layer', lastSpatialConv(model), '--threads', String(THREADS),
            '--methods', methods.map((m) => m.name).join(',')], { encoding: 'utf8' });
          if (r.status === 0) keepBest(theirs ??= {}, JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>);
          else process.stderr.write(`torch bench failed for ${arch} ${n}: ${r.stderr.trim().split('\n').at(-1)}\n`);
        }
      }
      tf.dispose([x, first]);
      model.dispose();
      const lead = backends[0]!;
      const header = ['method', ...backends.map((b) => `${b} ms/img`), ...(theirs ? ['torch ms/img', `${lead} speed ×torch`] : [])];
      process.stdout.write(`\n${arch} ${n}×${n}, width ${spec.width}\n| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|\n`);
      for (const m of methods) {
        const row = [m.name, ...backends.map((b) => f(ours.get(b)![m.name]!))];
        // Methods without a PyTorch twin in explain_torch.py (Grad-CAM++, the LRP composites but LRP, the nulls): '–'.
        if (theirs) row.push(...(theirs[m.name] === undefined ? ['–', '–'] : [f(theirs[m.name]!), (theirs[m.name]! / ours.get(lead)![m.name]!).toFixed(2)]));
        process.stdout.write(`| ${row.join(' | ')} |\n`);
      }
    }
  }
} finally {
  await rm(scratch, { recursive: true, force: true });
}
