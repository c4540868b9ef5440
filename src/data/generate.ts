import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { LOCK_FILE, UserError, ensure, lockFolder, makeFolder, sha256File, writeFileAtomic } from '../io/index.js';
import type { ClassCount } from './geometry.js';
import {
  describeDifference, MANIFEST_FILE, planManifest, profileDefaults, readManifest, sampleId, SPLITS, writeManifest,
  type Manifest, type ProfileName, type Split,
} from './manifest.js';
import { encodeShard } from './shard.js';
import { allocateBatch, type SampleBatch } from './synthesise.js';
import type { ChunkTask } from './worker.js';

/** `done` of `total` samples (kept shards count as done), with a short status text. */
export type GenerateProgress = (done: number, total: number, status?: string) => void;

export interface GenerateOptions {
  out: string;
  profile?: ProfileName;
  /** Image side N; default from the profile. */
  size?: number;
  classes?: ClassCount;
  seed?: number;
  /** Shard counts per split; default from the profile. */
  shards?: Partial<Record<Split, number>>;
  /** Samples per shard: one count for every split, or per split; default from the profile. */
  perShard?: number | Partial<Record<Split, number>>;
  /** Worker threads; default: all cores. */
  workers?: number;
  onProgress?: GenerateProgress;
}

export interface GenerateResult {
  dir: string;
  manifest: Manifest;
  /** Shards written by this run and shards kept because they verified. */
  written: number;
  kept: number;
}

/** Samples per worker task: small enough for steady progress and balance, big enough to amortise messages. */
const CHUNK = 25;

/**
 * Generates (or finishes) a dataset folder: manifest.json + <split>/shard-NNNN.safetensors. Every shard
 * is written atomically and the manifest records its sha256 as soon as it is on disk, so an interrupted
 * run resumes: shards that verify are kept, missing or corrupt ones are generated again. Output bytes
 * depend only on the config and seed, never on the worker count.
 */
export async function generateDataset(options: GenerateOptions): Promise<GenerateResult> {
  const planned = planFromOptions(options);
  const workers = options.workers ?? availableParallelism();
  ensure(Number.isInteger(workers) && workers >= 1, `workers must be an integer >= 1, got ${workers}`);
  const dir = options.out;
  const manifest = await prepareFolder(dir, planned);
  const release = await lockFolder(dir, 1); // also clears half-written shards of a killed run
  try {
    return await generateInto(dir, manifest, workers, options);
  } finally {
    await release();
  }
}

async function generateInto(dir: string, manifest: Manifest, workers: number, options: GenerateOptions): Promise<GenerateResult> {
  type Job = { split: Split; index: number };
  const jobs: Job[] = [];
  let kept = 0;
  let total = 0;
  let done = 0;
  for (const split of SPLITS) {
    for (const [index, entry] of manifest.splits[split].shards.entries()) {
      total += entry.samples;
      if (entry.sha256 !== null && (await fileSha(join(dir, entry.file))) === entry.sha256) {
        kept++;
        done += entry.samples;
      } else {
        entry.sha256 = null;
        jobs.push({ split, index });
      }
    }
  }
  await writeManifest(dir, manifest);
  options.onProgress?.(done, total, kept > 0 ? `kept ${kept} verified shards` : '');
  if (jobs.length === 0) return { dir, manifest, written: 0, kept };

  const { size, classes, seed } = manifest.config;
  const pool = new Piscina<ChunkTask, Record<string, unknown>[]>({
    filename: new URL('./worker.js', import.meta.url).href,
    minThreads: workers,
    maxThreads: workers,
  });
  let manifestWrites = Promise.resolve();
  const largestShard = Math.max(...jobs.map(({ split, index }) => manifest.splits[split].shards[index]!.samples));
  const runShard = async ({ split, index }: Job, buffers: SampleBatch): Promise<void> => {
    const entry = manifest.splits[split].shards[index]!;
    const px = size * size;
    const pixelsOnly: SampleBatch = {
      images: buffers.images.subarray(0, entry.samples * px * 3),
      labels: buffers.labels.subarray(0, entry.samples),
      bands: buffers.bands.subarray(0, entry.samples * px),
      variables: [],
    };
    const batch: SampleBatch = { ...pixelsOnly, variables: [] };
    const chunks: Promise<void>[] = [];
    for (let start = 0; start < entry.samples; start += CHUNK) {
      const count = Math.min(CHUNK, entry.samples - start);
      chunks.push(pool.run({ size, classes, seed, split, shard: index, start, count, batch: pixelsOnly }).then((variables) => {
        variables.forEach((v, i) => (batch.variables[start + i] = v));
        done += count;
        options.onProgress?.(done, total, `${split} shard ${index}`);
      }));
    }
    await Promise.all(chunks);
    const ids = Array.from({ length: entry.samples }, (_, i) => sampleId(split, index, i));
    const parts = encodeShard(batch, { split, shardIndex: index, seed, size, classes, ids });
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    await writeFileAtomic(join(dir, entry.file), parts);
    entry.sha256 = hash.digest('hex');
    manifestWrites = manifestWrites.then(() => writeManifest(dir, manifest));
    await manifestWrites;
  };
  try {
    // Two shards in flight keep every worker busy across shard boundaries; each lane reuses one set of
    // shared buffers, so memory stays at two shards however many are generated.
    let next = 0;
    const lanes = Array.from({ length: Math.min(2, jobs.length) }, async () => {
      const buffers = allocateBatch(size, largestShard, true);
      while (next < jobs.length) await runShard(jobs[next++]!, buffers);
    });
    await Promise.all(lanes);
  } finally {
    await pool.destroy();
  }
  return { dir, manifest, written: jobs.length, kept };
}

function planFromOptions(options: GenerateOptions): Manifest {
  const profile = options.profile ?? 'small';
  ensure(profile === 'small' || profile === 'paper', `unknown profile "${String(profile)}" (choose small or paper)`);
  const classes = options.classes ?? 10;
  ensure(classes === 10 || classes === 3, `classes must be 10 or 3, got ${String(classes)}`);
  const defaults = profileDefaults(profile, classes);
  const seed = options.seed ?? 0;
  ensure(Number.isSafeInteger(seed) && seed >= 0, `seed must be an integer >= 0, got ${seed}`);
  const splits = { ...defaults.splits };
  for (const split of SPLITS) {
    const count = options.shards?.[split];
    if (count !== undefined) splits[split] = { ...splits[split], shardCount: count };
    const perShard = typeof options.perShard === 'number' ? options.perShard : options.perShard?.[split];
    if (perShard !== undefined) splits[split] = { ...splits[split], perShard };
  }
  return planManifest({ profile, size: options.size ?? defaults.size, classes, seed }, splits);
}

/** Creates the folder or checks that it holds the same dataset; returns the manifest to continue from. */
async function prepareFolder(dir: string, planned: Manifest): Promise<Manifest> {
  let existing: Manifest | null = null;
  const info = await stat(dir).catch((err: NodeJS.ErrnoException) => (err.code === 'ENOENT' ? null : Promise.reject(cannot(dir, err))));
  if (info) {
    ensure(info.isDirectory(), `${dir} exists and is not a folder`);
    const entries = await readdir(dir);
    if (entries.includes(MANIFEST_FILE)) {
      existing = await readManifest(dir);
      const difference = describeDifference(existing, planned);
      ensure(difference === null, `${dir} holds a dataset with a different config (${difference}); choose another --out or delete it`);
    } else {
      // What a run stopped before its manifest leaves (a full disk, kill -9): the lock, empty split folders.
      const emptySplit = async (e: string) => (SPLITS as readonly string[]).includes(e) && (await readdir(join(dir, e)).catch(() => [e])).length === 0;
      const leftovers = await Promise.all(entries.map(async (e) => e === LOCK_FILE || (await emptySplit(e))));
      ensure(leftovers.every(Boolean), `${dir} exists, is not empty and is not a fiveband dataset; choose another --out`);
    }
  }
  try {
    for (const split of SPLITS) await makeFolder(join(dir, split));
  } catch (err) {
    throw cannot(dir, err as NodeJS.ErrnoException);
  }
  return existing ?? planned;
}

function cannot(dir: string, err: NodeJS.ErrnoException): UserError {
  if (err instanceof UserError) return err;
  return new UserError(`cannot write dataset folder ${dir} (${err.code ?? err.message})`);
}

async function fileSha(path: string): Promise<string | null> {
  try {
    return await sha256File(path);
  } catch {
    return null;
  }
}
