// Five-band scoring throughput: ms per 512×512 heatmap (3 channels, float32) over the 56-step v1 sweep,
// single thread, and heatmaps/s over a batch with all cores (piscina workers). Reference: 0.57 s per heatmap
// (spec §6, V2 setting; 0.595 s for V1 setting 1).
// `-- --command`: the whole `fiveband score` process instead, on n and 2 heatmaps in .npy files (marginal cost per
// heatmap, peak RSS), side by side with the reference's scorer (bench/score_reference.py, numpy) on the same files.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNpy } from '../src/io/index.js';
import { Rng } from '../src/rng/index.js';
import {
  FivebandScorer, PRESETS, createScoringPool, defaultWorkerCount, resolveMetrics, scoreHeatmaps, type HeatmapBatch, type TruthBatch,
} from '../src/scoring/index.js';

const SIZE = 512;
const PIXELS = SIZE * SIZE;
const REFERENCE_SECONDS = 0.572;

/** A cell-like ground truth (0.9 core, 0.4 ring) and a smooth heatmap that roughly follows it, plus noise. */
function makeSample(rng: Rng, heatmap: Float32Array, offset: number, bands: Int8Array, bandOffset: number): void {
  const cx = rng.uniform(150, 360);
  const cy = rng.uniform(150, 360);
  const r = rng.uniform(40, 120);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const d = Math.hypot(x - cx, y - cy) / r;
      const i = y * SIZE + x;
      bands[bandOffset + i] = d < 0.5 ? 2 : d < 1 ? 1 : 0;
      const signal = Math.exp(-d * d);
      for (let c = 0; c < 3; c++) heatmap[offset + c * PIXELS + i] = signal * rng.uniform(0.2, 1) + rng.normal(0, 0.15);
    }
  }
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

if (process.argv.includes('--command')) {
  await commandBench();
  process.exit(0);
}

const n = Number(process.env.BENCH_N ?? 48);
const rng = Rng.derive(1, 'bench-score');
const heatmaps: HeatmapBatch = { data: new Float32Array(n * 3 * PIXELS), n, channels: 3, height: SIZE, width: SIZE };
const truth: TruthBatch = { bands: new Int8Array(n * PIXELS), n, height: SIZE, width: SIZE };
for (let i = 0; i < n; i++) makeSample(rng, heatmaps.data as Float32Array, i * 3 * PIXELS, truth.bands, i * PIXELS);

console.log(`five-band scoring, ${SIZE}×${SIZE}×3 float32 heatmaps, ${n} samples, node ${process.version}, load average ${loadavg()[0]!.toFixed(1)}`);
for (const preset of ['v1', 'v2', 'v1-clamp', 'mab'] as const) {
  const scorer = new FivebandScorer(PRESETS[preset]!, SIZE, SIZE);
  const runs: number[] = [];
  const cpu: number[] = [];
  for (let rep = 0; rep < 5; rep++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) scorer.score(heatmaps.data, i * 3 * PIXELS, 3, truth.bands, i * PIXELS);
    const c = process.cpuUsage(c0);
    runs.push((performance.now() - t0) / n);
    cpu.push((c.user + c.system) / 1000 / n);
  }
  const ms = median(runs);
  console.log(`  single thread, ${preset.padEnd(8)} (${String(PRESETS[preset]!.steps).padStart(2)} thresholds): median ${ms.toFixed(2)} ms/heatmap, ` +
    `best ${Math.min(...runs).toFixed(2)}, CPU ${median(cpu).toFixed(2)} → ${((REFERENCE_SECONDS * 1000) / ms).toFixed(0)}× the reference's 0.572 s`);
}

{
  const scorer = new FivebandScorer(PRESETS.v1!, SIZE, SIZE);
  const metrics = resolveMetrics('all');
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < n; i++) scorer.score(heatmaps.data, i * 3 * PIXELS, 3, truth.bands, i * PIXELS, metrics);
  const c = process.cpuUsage(c0);
  console.log(`  single thread, v1 + all extra metrics: ${((performance.now() - t0) / n).toFixed(2)} ms/heatmap wall, CPU ${((c.user + c.system) / 1000 / n).toFixed(2)}`);
}

const cores = defaultWorkerCount();
for (const workers of [1, cores]) {
  const pool = workers > 1 ? createScoringPool(workers) : undefined;
  await scoreHeatmaps(heatmaps, truth, { setting: PRESETS.v1!, pool }); // warm-up (threads start, JIT)
  const rates: number[] = [];
  const cpuRates: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage(); // all threads of the process, workers included
    await scoreHeatmaps(heatmaps, truth, { setting: PRESETS.v1!, pool });
    const c = process.cpuUsage(c0);
    rates.push(n / ((performance.now() - t0) / 1000));
    cpuRates.push(n / ((c.user + c.system) / 1e6));
  }
  await pool?.destroy();
  console.log(`  scoreHeatmaps v1, ${workers} thread${workers > 1 ? 's (piscina pool)' : ' (in thread)'}: median ${median(rates).toFixed(0)} heatmaps/s wall, ` +
    `best ${Math.max(...rates).toFixed(0)}; ${median(cpuRates).toFixed(0)} heatmaps per CPU-second (${n} heatmaps per call, incl. copies to the workers)`);
}

/** Wall seconds and peak RSS (MiB) of a command, via GNU time. */
function timed(command: string, args: string[]): { seconds: number; rssMiB: number } {
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-f', 'maxrss %M', command, ...args], { encoding: 'utf8' });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const rss = /maxrss (\d+)/.exec(r.stderr)?.[1];
  return { seconds, rssMiB: Number(rss) / 1024 };
}

async function writeInputs(dir: string, count: number, samples: { heatmaps: Float32Array; truth: Float32Array }): Promise<{ heatmaps: string; truth: string }> {
  const unique = samples.truth.length / PIXELS;
  const heatmaps = new Float32Array(count * 3 * PIXELS);
  const truth = new Float32Array(count * PIXELS);
  for (let i = 0; i < count; i++) {
    const k = i % unique;
    heatmaps.set(samples.heatmaps.subarray(k * 3 * PIXELS, (k + 1) * 3 * PIXELS), i * 3 * PIXELS);
    truth.set(samples.truth.subarray(k * PIXELS, (k + 1) * PIXELS), i * PIXELS);
  }
  const paths = { heatmaps: join(dir, `heatmaps-${count}.npy`), truth: join(dir, `truth-${count}.npy`) };
  await writeNpy(paths.heatmaps, heatmaps, [count, 3, SIZE, SIZE]);
  await writeNpy(paths.truth, truth, [count, SIZE, SIZE]);
  return paths;
}

async function commandBench(): Promise<void> {
  // Our marginal comes from n = 400 (in a 24-heatmap run of ~0.3 s, the worker threads' start-up and JIT warm-up
  // and ±50 ms of process noise would count as per-heatmap cost); the twin's from 24 (its ~1 s per heatmap dwarfs
  // both). Peak RSS is compared between 24 and n heatmaps.
  const n = Number(process.env.BENCH_N ?? 400);
  const refN = Number(process.env.BENCH_REF_N ?? 24);
  const reps = Number(process.env.BENCH_REPS ?? 3);
  // BENCH_BIN times another build's CLI (e.g. a checkout of an older commit) with the same inputs.
  const bin = process.env.BENCH_BIN ?? fileURLToPath(new URL('../../bin/fiveband.js', import.meta.url));
  const twin = fileURLToPath(new URL('../../bench/score_reference.py', import.meta.url));
  // BENCH_DIR keeps the inputs there (for profiling a single command by hand).
  const dir = process.env.BENCH_DIR ?? mkdtempSync(join(tmpdir(), 'fiveband-bench-score-'));
  try {
    const rng = Rng.derive(1, 'bench-score');
    const unique = Math.min(n, 24);
    const samples = { heatmaps: new Float32Array(unique * 3 * PIXELS), truth: new Float32Array(unique * PIXELS) };
    const bands = new Int8Array(unique * PIXELS);
    for (let i = 0; i < unique; i++) makeSample(rng, samples.heatmaps, i * 3 * PIXELS, bands, i * PIXELS);
    bands.forEach((b, i) => (samples.truth[i] = b === 2 ? 0.9 : b === 1 ? 0.4 : 0));
    const counts = [...new Set([2, refN, n])].sort((a, b) => a - b);
    const files = new Map<number, { heatmaps: string; truth: string }>();
    for (const count of counts) files.set(count, await writeInputs(dir, count, samples));

    console.log(`fiveband score as a whole command, ${SIZE}×${SIZE}×3 float32 .npy, v1 (56 thresholds), default workers, node ${process.version}, ` +
      `load average ${loadavg()[0]!.toFixed(1)}; marginal = (t(${n}) − t(2)) / ${n - 2}, median of ${reps}`);
    const modes: Array<{ name: string; args: string[] }> = [
      { name: 'default metrics', args: [] },
      { name: '--metrics none --no-long', args: ['--metrics', 'none', '--no-long'] },
    ];
    const ours = new Map<string, number>();
    for (const mode of modes) {
      const run = (count: number) => {
        const f = files.get(count)!;
        const out = join(dir, `out-${count}`);
        rmSync(out, { recursive: true, force: true });
        return timed(process.execPath, [bin, 'score', '--heatmaps', `m=${f.heatmaps}`, '--truth', f.truth, '--out', out, ...mode.args]);
      };
      const seconds = (count: number) => median(Array.from({ length: reps }, () => run(count).seconds));
      const t2 = seconds(2), tn = seconds(n);
      const marginal = (tn - t2) / (n - 2);
      ours.set(mode.name, marginal);
      const rss = counts.filter((count) => count >= refN)
        .map((count) => `${count}: ${median(Array.from({ length: reps }, () => run(count).rssMiB)).toFixed(0)} MiB`).join(', ');
      console.log(`  fiveband score, ${mode.name.padEnd(24)}: t(2) ${t2.toFixed(2)} s, t(${n}) ${tn.toFixed(2)} s → ` +
        `${(marginal * 1000).toFixed(1)} ms per heatmap; peak RSS (median) ${rss}`);
    }

    const numpy = spawnSync('python3', ['-c', 'import numpy'], { encoding: 'utf8' });
    if (numpy.status !== 0) {
      console.log('  reference twin skipped: python3 with numpy not found (Debian: apt-get install python3-numpy)');
      return;
    }
    const reference = (count: number) => {
      const f = files.get(count)!;
      return timed('python3', [twin, f.heatmaps, f.truth, join(dir, `reference-${count}.csv`)]).seconds;
    };
    const r2 = reference(2), rn = reference(refN);
    const refMarginal = (rn - r2) / (refN - 2);
    console.log(`  reference twin (numpy ${spawnSync('python3', ['-c', 'import numpy; print(numpy.__version__)'], { encoding: 'utf8' }).stdout.trim()}): ` +
      `t(2) ${r2.toFixed(2)} s, t(${refN}) ${rn.toFixed(2)} s → ${(refMarginal * 1000).toFixed(0)} ms per heatmap (single run each)`);
    for (const [name, marginal] of ours) console.log(`  ratio, ${name}: ${(refMarginal / marginal).toFixed(0)}× the reference`);
    // The twin must compute what fiveband computes, or the ratio means nothing.
    const table = (path: string) => readFileSync(path, 'utf8').trim().split('\n').slice(1).map((line) => line.split(','));
    const twinRows = table(join(dir, `reference-${refN}.csv`));
    const ourRows = table(join(dir, `out-${n}`, 'm.csv'));
    const columns = ['Amu', 'Au', 'Rmu', 'Ru', 'Pmu', 'Pu'];
    let worst = 0;
    twinRows.forEach((row, i) => columns.forEach((_, k) => {
      worst = Math.max(worst, Math.abs(Number(row[[1, 2, 4, 5, 7, 8][k]!]) - Number(ourRows[i]![[4, 5, 7, 8, 10, 11][k]!])));
    }));
    // Not zero: the twin sums float32 channels in float32 like numpy, fiveband in float64 (README, "Differences").
    console.log(`  twin vs fiveband on the first ${refN} heatmaps: largest difference in ${columns.join(', ')}: ${worst.toExponential(2)} (float32 vs float64 channel sums)`);
  } finally {
    if (!process.env.BENCH_DIR) rmSync(dir, { recursive: true, force: true });
  }
}
