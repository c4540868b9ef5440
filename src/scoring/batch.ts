import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { UserError, type ProgressCallback } from '../io/index.js';
import { NonFiniteHeatmapError, type HeatmapData } from './adjust.js';
import { FivebandScorer, type SampleScores } from './fiveband.js';
import { resolveMetrics } from './metrics/index.js';
import type { ScoreSetting } from './settings.js';
import type { ScoreChunkTask } from './worker.js';

/** n heatmaps of C×H×W values each (n×H×W input is C = 1), in one contiguous array. */
export interface HeatmapBatch {
  data: HeatmapData;
  n: number;
  channels: number;
  height: number;
  width: number;
}

/** n ground-truth band maps (H×W, −2…2) in one contiguous array; see toTruthBands. */
export interface TruthBatch {
  bands: Int8Array;
  n: number;
  height: number;
  width: number;
}


export interface ScoreOptions {
  setting: ScoreSetting;
  /** Extra metric names, or 'all'; none by default. */
  metrics?: 'all' | readonly string[];
  /** Worker threads (piscina); 1 (default) scores in this thread. Results are identical for any count. */
  workers?: number;
  /** A pool to reuse across calls (see createScoringPool); overrides `workers`. */
  pool?: ScoringPool;
  /** Samples per worker task. */
  chunkSize?: number;
  onProgress?: ProgressCallback;
}

/** Worker threads kept across several scoreHeatmaps calls (starting threads costs ~0.1 s each). */
export interface ScoringPool {
  readonly threads: number;
  destroy(): Promise<void>;
}

/** A shared buffer pair that one chunk is copied into for a worker to read in place. */
interface StagingSlot {
  heatmap: Float32Array | Float64Array;
  truth: Int8Array;
}

interface PiscinaScoringPool extends ScoringPool {
  piscina: Piscina;
  /** Staging slots kept for the next call with the same chunk shape (none while a call is using them). */
  idleSlots: { key: string; slots: StagingSlot[] } | null;
}

export function createScoringPool(workers = defaultWorkerCount()): ScoringPool {
  const threads = Math.max(1, Math.floor(workers));
  const piscina = new Piscina({ filename: new URL('./worker.js', import.meta.url).href, minThreads: threads, maxThreads: threads });
  const pool: PiscinaScoringPool = { threads, piscina, idleSlots: null, destroy: () => piscina.destroy() };
  return pool;
}

/** The number of worker threads "all cores" means here. */
export function defaultWorkerCount(): number {
  return availableParallelism();
}

/**
 * Scores every heatmap against its ground truth over the setting's sweep. Sample i of `heatmaps` is paired
 * with sample i of `truth`. Each sample is scored independently, so the result does not depend on `workers`.
 * Throws a UserError naming the first sample index with NaN/Inf values (see findNonFiniteSamples to list all).
 */
export async function scoreHeatmaps(heatmaps: HeatmapBatch, truth: TruthBatch, options: ScoreOptions): Promise<SampleScores[]> {
  checkPairing(heatmaps, truth);
  const { n, channels, height, width } = heatmaps;
  const size = channels * height * width;
  const pixels = height * width;
  const { scores, nonFinite } = await scoreStream({
    n, channels, height, width, float64: heatmaps.data instanceof Float64Array, inMemory: heatmaps.data,
    read: async (first, count, into) => into.set(heatmaps.data.subarray(first * size, (first + count) * size)),
    truth: async (first, count) => truth.bands.subarray(first * pixels, (first + count) * pixels),
  }, options);
  if (nonFinite.length > 0) throw new UserError(`heatmap ${nonFinite[0]} holds NaN or Inf values`);
  return scores;
}

/**
 * Heatmaps that arrive in pieces (read from a file on demand): their shape, and functions that fill a buffer
 * with samples first … first + count − 1 and give those samples' ground-truth bands (H×W each, −2…2).
 */
export interface HeatmapStream {
  n: number;
  channels: number;
  height: number;
  width: number;
  float64: boolean;
  read(first: number, count: number, into: HeatmapData): Promise<void>;
  truth(first: number, count: number): Promise<Int8Array>;
  /** All n heatmaps, when they are in memory already (scored in place on this thread instead of read). */
  inMemory?: HeatmapData;
}

/**
 * Scores a stream of heatmaps in input order, reading a few chunks ahead of the workers, so memory stays flat
 * however long the stream: with a pool, each chunk is read straight into a shared staging buffer that a worker
 * scores in place (no copy); without one, in this thread from one reused buffer. Results are identical for any
 * worker count. Samples with NaN/Inf are listed in `nonFinite` (their `scores` entries are missing).
 */
export async function scoreStream(stream: HeatmapStream, options: ScoreOptions): Promise<{ scores: SampleScores[]; nonFinite: number[] }> {
  const metrics = resolveMetrics(options.metrics ?? []);
  const { n, channels, height, width, float64 } = stream;
  if (!(Number.isInteger(channels) && channels >= 1)) throw new UserError(`heatmaps: channel count ${channels} is not a positive integer`);
  const workers = options.pool?.threads ?? Math.max(1, Math.floor(options.workers ?? 1));
  const pixels = height * width;
  const onProgress = options.onProgress ?? (() => {});
  const scores: SampleScores[] = new Array(n);
  const nonFinite: number[] = [];
  const scoreTruth = async (first: number, count: number) => {
    const bands = await stream.truth(first, count);
    if (bands.length !== count * pixels) throw new Error(`ground truth: ${bands.length} bands for ${count} maps of ${height}×${width}`);
    return bands;
  };
  if (workers === 1 || n <= 1) {
    const scorer = new FivebandScorer(options.setting, height, width);
    // Two buffers: the next heatmap is read while this one is scored.
    const buffers = stream.inMemory ? [] : [0, 1].map(() => (float64 ? new Float64Array(channels * pixels) : new Float32Array(channels * pixels)));
    let next = stream.inMemory || n === 0 ? Promise.resolve() : stream.read(0, 1, buffers[0]!);
    for (let i = 0; i < n; i++) {
      await next;
      if (!stream.inMemory && i + 1 < n) {
        next = stream.read(i + 1, 1, buffers[(i + 1) % 2]!);
        next.catch(() => {}); // awaited in the next round; a failure here must not go unhandled if this round throws
      }
      const bands = await scoreTruth(i, 1);
      try {
        scores[i] = stream.inMemory
          ? scorer.score(stream.inMemory, i * channels * pixels, channels, bands, 0, metrics)
          : scorer.score(buffers[i % 2]!, 0, channels, bands, 0, metrics);
      } catch (err) {
        if (!(err instanceof NonFiniteHeatmapError)) throw err;
        nonFinite.push(i);
      }
      onProgress(i + 1, n);
    }
    return { scores, nonFinite };
  }
  new FivebandScorer(options.setting, height, width); // validates the setting before any worker starts
  // Chunks of at most ~8 MB (two 512² RGB float32 heatmaps), so the staging memory does not depend on n; fewer
  // samples per chunk for short streams so every worker gets some.
  const sampleBytes = channels * pixels * (float64 ? 8 : 4);
  const chunkSize = Math.max(1, options.chunkSize ?? Math.min(4, Math.floor(8 * 2 ** 20 / sampleBytes), Math.ceil(n / (workers * 4))));
  const pool = (options.pool as PiscinaScoringPool | undefined) ?? (createScoringPool(workers) as PiscinaScoringPool);
  // Chunks are read into a few shared buffers that the workers read in place, reused across calls with the
  // same chunk shape (allocating and page-faulting a fresh 3 MB buffer per heatmap costs ~1 ms).
  const stagingLength = chunkSize * channels * pixels;
  const key = `${float64 ? 'f64' : 'f32'}:${stagingLength}:${chunkSize * pixels}`;
  const reused = pool.idleSlots?.key === key ? pool.idleSlots.slots : null;
  pool.idleSlots = null;
  const slots: StagingSlot[] = reused ?? Array.from({ length: 2 * workers }, () => ({
    heatmap: float64 ? new Float64Array(new SharedArrayBuffer(stagingLength * 8)) : new Float32Array(new SharedArrayBuffer(stagingLength * 4)),
    truth: new Int8Array(new SharedArrayBuffer(chunkSize * pixels)),
  }));
  const free = [...slots];
  const running = new Set<Promise<void>>();
  let failure: unknown = null;
  let done = 0;
  try {
    for (let first = 0; first < n && failure === null; first += chunkSize) {
      while (free.length === 0) await Promise.race(running);
      if (failure !== null) break;
      const slot = free.pop()!;
      const count = Math.min(chunkSize, n - first);
      let task: ScoreChunkTask;
      try {
        await stream.read(first, count, slot.heatmap.subarray(0, count * channels * pixels));
        slot.truth.set(await scoreTruth(first, count));
        task = {
          setting: options.setting, height, width, channels, count, metrics: metrics.map((m) => m.name),
          heatmap: slot.heatmap.subarray(0, count * channels * pixels), truth: slot.truth.subarray(0, count * pixels),
        };
      } catch (err) {
        failure ??= err;
        free.push(slot);
        break;
      }
      const run: Promise<void> = pool.piscina.run(task)
        .then((chunk: Array<SampleScores | null>) => {
          chunk.forEach((s, k) => {
            if (s === null) nonFinite.push(first + k);
            else scores[first + k] = s;
          });
          done += count;
          onProgress(done, n);
        })
        .catch((err: unknown) => {
          failure ??= err;
        })
        .finally(() => {
          free.push(slot);
          running.delete(run);
        });
      running.add(run);
    }
    await Promise.all(running);
  } finally {
    if (options.pool) pool.idleSlots = { key, slots };
    else await pool.destroy();
  }
  if (failure !== null) throw failure;
  return { scores, nonFinite: nonFinite.sort((a, b) => a - b) };
}

/** Indices of the samples whose heatmap holds NaN or ±Inf. */
export function findNonFiniteSamples(heatmaps: HeatmapBatch): number[] {
  const size = heatmaps.channels * heatmaps.height * heatmaps.width;
  const bad: number[] = [];
  for (let i = 0; i < heatmaps.n; i++) {
    for (let j = i * size, end = j + size; j < end; j++) {
      const v = heatmaps.data[j]!;
      if (v - v !== 0) {
        bad.push(i);
        break;
      }
    }
  }
  return bad;
}

function checkPairing(heatmaps: HeatmapBatch, truth: TruthBatch): void {
  const { n, channels, height, width } = heatmaps;
  if (!(Number.isInteger(channels) && channels >= 1)) throw new UserError(`heatmaps: channel count ${channels} is not a positive integer`);
  if (heatmaps.data.length !== n * channels * height * width) {
    throw new UserError(`heatmaps: ${heatmaps.data.length} values do not make ${n}×${channels}×${height}×${width}`);
  }
  if (truth.bands.length !== truth.n * truth.height * truth.width) {
    throw new UserError(`ground truth: ${truth.bands.length} values do not make ${truth.n}×${truth.height}×${truth.width}`);
  }
  if (truth.n !== n) throw new UserError(`${n} heatmaps but ${truth.n} ground-truth maps`);
  const { bands } = truth;
  for (let i = 0; i < bands.length; i++) {
    if (bands[i]! < -2 || bands[i]! > 2) throw new UserError(`ground truth: band ${bands[i]} at element ${i} is outside −2…2 (use toTruthBands)`);
  }
  if (truth.height !== height || truth.width !== width) {
    throw new UserError(`heatmaps are ${height}×${width} but the ground truth is ${truth.height}×${truth.width}`);
  }
}
