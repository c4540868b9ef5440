import { join } from 'node:path';
import { ensure } from '../io/index.js';
import { readManifest, SPLITS, type DatasetConfig, type Manifest, type Split } from './manifest.js';
import { BAND_VALUES } from './render.js';
import { readShard, type Shard } from './shard.js';

export interface ShardRef {
  split: Split;
  index: number;
  path: string;
  samples: number;
  sha256: string;
}

/** An opened, complete dataset: its validated manifest and where each split's shards are. */
export interface Dataset {
  dir: string;
  manifest: Manifest;
  config: DatasetConfig;
  size: number;
  classes: 10 | 3;
  shards: Record<Split, ShardRef[]>;
  /** Reads shard `index` of `split`, verifying its sha256 against the manifest. */
  readShard(split: Split, index: number): Promise<Shard>;
}

/** Opens a dataset folder written by `fiveband generate`; fails clearly if the manifest is missing, invalid or incomplete. */
export async function openDataset(dir: string): Promise<Dataset> {
  const manifest = await readManifest(dir);
  const shards = {} as Record<Split, ShardRef[]>;
  for (const split of SPLITS) {
    shards[split] = manifest.splits[split].shards.map((entry, index) => {
      ensure(entry.sha256 !== null, `${dir}: dataset is incomplete (${entry.file} not yet generated); rerun fiveband generate to finish it`);
      return { split, index, path: join(dir, entry.file), samples: entry.samples, sha256: entry.sha256 };
    });
  }
  return {
    dir,
    manifest,
    config: manifest.config,
    size: manifest.config.size,
    classes: manifest.config.classes,
    shards,
    async readShard(split, index) {
      const ref = shards[split][index];
      ensure(ref, `${dir}: ${split} has no shard ${index} (it has ${shards[split].length})`);
      const shard = await readShard(ref.path, ref.sha256);
      ensure(shard.n === ref.samples && shard.size === manifest.config.size, `${ref.path}: shard shape disagrees with the manifest`);
      return shard;
    },
  };
}

/** One sample as float32: image H×W×3 in [0, 1] (channel last) and ground truth H×W in {0, 0.4, 0.9}. */
export interface Sample {
  id: string;
  label: number;
  size: number;
  image: Float32Array;
  groundTruth: Float32Array;
  /** The band codes 0/1/2 (a view into the shard). */
  bands: Uint8Array;
  variables: Record<string, unknown>;
}

const BYTE_TO_UNIT = Float32Array.from({ length: 256 }, (_, v) => v / 255);
const BAND_TO_VALUE = Float32Array.from(BAND_VALUES);

/** uint8 image bytes → float32 in [0, 1] (v / 255). */
export function imageToFloat(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = BYTE_TO_UNIT[bytes[i]!]!;
  return out;
}

/** Band codes 0/1/2 → float32 ground truth 0 / 0.4 / 0.9. */
export function bandsToGroundTruth(bands: Uint8Array): Float32Array {
  const out = new Float32Array(bands.length);
  for (let i = 0; i < bands.length; i++) out[i] = BAND_TO_VALUE[bands[i]!]!;
  return out;
}

/** Sample `i` of a shard as float32 tensors. */
export function sampleAt(shard: Shard, i: number): Sample {
  const px = shard.size * shard.size;
  const bands = shard.bands.subarray(i * px, (i + 1) * px);
  return {
    id: shard.ids[i]!,
    label: shard.labels[i]!,
    size: shard.size,
    image: imageToFloat(shard.images.subarray(i * px * 3, (i + 1) * px * 3)),
    groundTruth: bandsToGroundTruth(bands),
    bands,
    variables: shard.variables[i]!,
  };
}

/** Streams a split's samples shard by shard (one shard in memory at a time), in stored order. */
export async function* iterateSamples(dataset: Dataset, split: Split): AsyncGenerator<Sample> {
  for (const ref of dataset.shards[split]) {
    const shard = await dataset.readShard(split, ref.index);
    for (let i = 0; i < shard.n; i++) yield sampleAt(shard, i);
  }
}
