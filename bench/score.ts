// Five-band scoring throughput: ms per 512×512 heatmap (3 channels, float32) over the 56-step v1 sweep,
// single thread, and heatmaps/s over a batch with all cores (piscina workers). Reference: 0.57 s per heatmap
// (spec §6, V2 setting; 0.595 s for V1 setting 1).
import { loadavg } from 'node:os';
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
