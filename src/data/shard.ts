import { readFile } from 'node:fs/promises';
import { UserError, decodeSafetensors, encodeSafetensors, sha256, type Tensor } from '../io/index.js';
import { DATASET_FORMAT, GENERATOR_VERSION, type Split } from './manifest.js';
import type { SampleBatch } from './synthesise.js';

/** One shard in memory: the stored tensors plus the per-sample records from the metadata. */
export interface Shard {
  /** uint8 n×H×W×3 (RGB, channel last); value/255 is the image in [0, 1]. */
  images: Uint8Array;
  labels: Uint8Array;
  /** uint8 n×H×W band codes 0/1/2 for ground truth 0 / 0.4 / 0.9. */
  bands: Uint8Array;
  ids: string[];
  variables: Record<string, unknown>[];
  n: number;
  /** Image side N (H = W = N). */
  size: number;
  split: Split;
  shardIndex: number;
  seed: number;
}

export interface ShardInfo {
  split: Split;
  shardIndex: number;
  seed: number;
  size: number;
  classes: number;
  ids: string[];
}

/** A shard as safetensors parts: tensors `images`, `labels`, `bands`; metadata with ids, variables, provenance. */
export function encodeShard(batch: SampleBatch, info: ShardInfo): Uint8Array[] {
  const n = batch.labels.length;
  const N = info.size;
  const tensors: Record<string, Tensor> = {
    images: { dtype: 'U8', shape: [n, N, N, 3], data: batch.images },
    labels: { dtype: 'U8', shape: [n], data: batch.labels },
    bands: { dtype: 'U8', shape: [n, N, N], data: batch.bands },
  };
  return encodeSafetensors(tensors, {
    format: DATASET_FORMAT,
    generator_version: String(GENERATOR_VERSION),
    split: info.split,
    shard: String(info.shardIndex),
    seed: String(info.seed),
    size: String(N),
    classes: String(info.classes),
    band_values: '[0,0.4,0.9]',
    ids: JSON.stringify(info.ids),
    variables: JSON.stringify(batch.variables),
  });
}

/** Parses shard bytes; `source` names the file in errors. */
export function decodeShard(bytes: Uint8Array, source: string): Shard {
  const { tensors, metadata } = decodeSafetensors(bytes, source);
  const bad = (why: string): never => {
    throw new UserError(`${source}: not a fiveband shard (${why})`);
  };
  if (metadata.format !== DATASET_FORMAT) bad('format metadata missing');
  const { images, labels, bands } = tensors;
  if (!images || !labels || !bands) return bad('missing images, labels or bands');
  if (images.dtype !== 'U8' || labels.dtype !== 'U8' || bands.dtype !== 'U8') bad('tensors must be U8');
  const [n, size] = images.shape as [number, number];
  const shapesOk =
    images.shape.length === 4 && images.shape[2] === size && images.shape[3] === 3 &&
    labels.shape.length === 1 && labels.shape[0] === n &&
    bands.shape.length === 3 && bands.shape[0] === n && bands.shape[1] === size && bands.shape[2] === size;
  if (!shapesOk) bad('tensor shapes disagree');
  let ids: unknown;
  let variables: unknown;
  try {
    ids = JSON.parse(metadata.ids ?? 'null');
    variables = JSON.parse(metadata.variables ?? 'null');
  } catch {
    return bad('metadata is not JSON');
  }
  if (!Array.isArray(ids) || ids.length !== n || !Array.isArray(variables) || variables.length !== n) bad('ids/variables do not match the sample count');
  return {
    images: images.data as Uint8Array,
    labels: labels.data as Uint8Array,
    bands: bands.data as Uint8Array,
    ids: ids as string[],
    variables: variables as Record<string, unknown>[],
    n,
    size,
    split: metadata.split as Split,
    shardIndex: Number(metadata.shard),
    seed: Number(metadata.seed),
  };
}

/**
 * Reads a shard file. With `expectedSha256` (as `openDataset` passes from the manifest) the bytes must
 * match it; a corrupt or truncated file fails with a UserError naming it.
 */
export async function readShard(path: string, expectedSha256?: string | null): Promise<Shard> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new UserError(`${path}: cannot read shard (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (expectedSha256 && sha256(bytes) !== expectedSha256) {
    throw new UserError(`${path}: checksum mismatch with the manifest (corrupt or truncated shard); rerun fiveband generate on the dataset to regenerate it`);
  }
  return decodeShard(bytes, path);
}
