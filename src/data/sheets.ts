import { join } from 'node:path';
import { PNG } from 'pngjs';
import { Rng } from '../rng/index.js';
import { writeFileAtomic } from '../io/index.js';
import { geometryFor, type ClassCount } from './geometry.js';
import type { Dataset } from './reader.js';
import type { Split } from './manifest.js';
import { allocateBatch, Synthesiser } from './synthesise.js';

/** Ground-truth colours on sheets: band 0 light grey, 0.4 light red, 0.9 dark red. */
const BAND_RGB = [[235, 235, 235], [255, 140, 140], [150, 0, 0]] as const;
const GAP_IN_PAIR = 2;
const GAP = 10;
/** Tiles are at most this wide (larger images are subsampled) so sheets of 512² images stay small. */
const MAX_TILE = 256;

interface SheetSamples {
  size: number;
  images: Uint8Array;
  bands: Uint8Array;
  count: number;
}

/**
 * A sheet like the paper's fig. 1: each sample as a pair (image | ground truth), `perRow` pairs per row,
 * in order. Returns PNG bytes.
 */
export function renderSheet(samples: SheetSamples, perRow: number): Uint8Array {
  const N = samples.size;
  const tile = Math.min(N, MAX_TILE);
  const pairWidth = 2 * tile + GAP_IN_PAIR;
  const rows = Math.ceil(samples.count / perRow);
  const width = GAP + perRow * (pairWidth + GAP);
  const height = GAP + rows * (tile + GAP);
  const png = new PNG({ width, height });
  png.data.fill(255);
  const source = Int32Array.from({ length: tile }, (_, o) => Math.floor(((o + 0.5) * N) / tile));
  for (let s = 0; s < samples.count; s++) {
    const left = GAP + (s % perRow) * (pairWidth + GAP);
    const top = GAP + Math.floor(s / perRow) * (tile + GAP);
    for (let y = 0; y < tile; y++) {
      for (let x = 0; x < tile; x++) {
        const p = s * N * N + source[y]! * N + source[x]!;
        const imageAt = ((top + y) * width + left + x) * 4;
        const truthAt = imageAt + (tile + GAP_IN_PAIR) * 4;
        const band = BAND_RGB[samples.bands[p]!]!;
        for (let ch = 0; ch < 3; ch++) {
          png.data[imageAt + ch] = samples.images[p * 3 + ch]!;
          png.data[truthAt + ch] = band[ch]!;
        }
      }
    }
  }
  return PNG.sync.write(png);
}

/**
 * The class × background overview: one row per class (0 at the top), one (image | ground truth) pair per
 * background type 0, 1, 2, drawn fresh from `Rng.derive(seed, 'overview', label, background)`.
 */
export function renderOverview(size: number, classes: ClassCount, seed: number): Uint8Array {
  const synthesiser = new Synthesiser(geometryFor(size, classes));
  const batch = allocateBatch(size, classes * 3);
  for (let label = 0; label < classes; label++) {
    for (let background = 0 as 0 | 1 | 2; background < 3; background++) {
      synthesiser.synthesise(Rng.derive(seed, 'overview', label, background), batch, label * 3 + background, { label, background });
    }
  }
  return renderSheet({ size, images: batch.images, bands: batch.bands, count: classes * 3 }, 3);
}

export interface SheetsOptions {
  /** Shards to draw a page of, e.g. [{ split: 'train', index: 0 }]. */
  shards?: { split: Split; index: number }[];
  /** Samples per shard page (default 16). */
  count?: number;
}

/** Writes `sheets/overview.png` and one `sheets/<split>-shard-NNNN.png` per requested shard; returns the paths. */
export async function writeSheets(dataset: Dataset, options: SheetsOptions = {}): Promise<string[]> {
  const dir = join(dataset.dir, 'sheets');
  const written: string[] = [];
  const overview = join(dir, 'overview.png');
  await writeFileAtomic(overview, renderOverview(dataset.size, dataset.classes, dataset.config.seed));
  written.push(overview);
  for (const { split, index } of options.shards ?? []) {
    const shard = await dataset.readShard(split, index);
    const count = Math.min(options.count ?? 16, shard.n);
    const path = join(dir, `${split}-shard-${String(index).padStart(4, '0')}.png`);
    await writeFileAtomic(path, renderSheet({ size: shard.size, images: shard.images, bands: shard.bands, count }, 4));
    written.push(path);
  }
  return written;
}
