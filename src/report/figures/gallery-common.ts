import { resizeBands, resizeImages } from '../../data/index.js';
import type { AttributionShard, ModelInfo, RunFolder } from '../run.js';
import { SkipFigure } from '../figure.js';
import { floatImageRaster, imageRaster, truthRaster, type Raster } from '../images.js';

/** The samples a gallery shows, with their image and ground truth at the heatmaps' size. */
export interface GallerySamples {
  model: ModelInfo;
  /** Attribution headers per method (test shard 0), for the methods the run has. */
  attributions: Record<string, AttributionShard>;
  /** Per method, the C×H×W attribution of each picked sample. */
  maps: Record<string, Float32Array[]>;
  /** Positions of the chosen samples in the attribution shard. */
  picks: number[];
  ids: string[];
  labels: number[];
  predicted: number[];
  size: number;
  /** Data size; differs from `size` when the model ran on resized images. */
  dataSize: number;
  images: Raster[];
  truths: Raster[];
}

/**
 * Picks up to `count` samples of test shard 0 that the model predicted correctly (or wrongly), one per
 * true class first, in shard order; loads their images and ground truth. When the model's input is smaller
 * than the data, image and ground truth are resized as training and scoring did (anti-aliased bilinear; the
 * ground truth re-banded at 0.3 / 0.7), so the tiles show what the model saw and what the scorer compared.
 * Returns null when the run has none of `methods` for the model, or no such sample.
 */
export async function gallerySamples(
  run: RunFolder, model: ModelInfo, methods: readonly string[], which: 'correct' | 'wrong', count: number,
): Promise<GallerySamples | null> {
  const attributions: Record<string, AttributionShard> = {};
  for (const method of methods) {
    const a = await run.attributions(model.key, method);
    if (a) attributions[method] = a;
  }
  const first = Object.values(attributions)[0];
  if (!first) return null;
  const shard = await run.testShard(0);
  if (!shard) throw new SkipFigure('the run has attributions but no dataset (dataset/test/shard-0000.safetensors) to show the images beside them');
  const candidates: number[] = [];
  for (let i = 0; i < first.n; i++) if ((first.labels[i] === first.predicted[i]) === (which === 'correct')) candidates.push(i);
  const picks: number[] = [];
  const seen = new Set<number>();
  for (const i of candidates) {
    if (picks.length < count && !seen.has(first.labels[i]!)) {
      picks.push(i);
      seen.add(first.labels[i]!);
    }
  }
  for (const i of candidates) if (picks.length < count && !picks.includes(i)) picks.push(i);
  if (picks.length === 0) return null;
  picks.sort((a, b) => a - b);
  const size = first.height;
  const positions = picks.map((i) => {
    const at = shard.ids.indexOf(first.ids[i]!);
    if (at < 0) throw new SkipFigure(`sample ${first.ids[i]} of the attributions is not in the dataset's test shard 0`);
    return at;
  });
  let images: Raster[];
  let truths: Raster[];
  const N = shard.size;
  if (size === N) {
    images = positions.map((p) => imageRaster(shard.images, p, N));
    truths = positions.map((p) => truthRaster(shard.bands, p, N));
  } else {
    const px = N * N;
    const floats = new Float32Array(positions.length * px * 3);
    const bands = new Uint8Array(positions.length * px);
    positions.forEach((p, k) => {
      for (let j = 0; j < px * 3; j++) floats[k * px * 3 + j] = shard.images[p * px * 3 + j]! / 255;
      bands.set(shard.bands.subarray(p * px, (p + 1) * px), k * px);
    });
    const resized = resizeImages(floats, positions.length, N, size, 3);
    const resizedBands = resizeBands(bands, positions.length, N, size);
    images = positions.map((_, k) => floatImageRaster(resized.subarray(k * size * size * 3, (k + 1) * size * size * 3), size));
    truths = positions.map((_, k) => truthRaster(resizedBands, k, size));
  }
  const maps: Record<string, Float32Array[]> = {};
  for (const [method, a] of Object.entries(attributions)) {
    maps[method] = await Promise.all(picks.map((i) => {
      if (a.ids[i] !== first.ids[i]) throw new SkipFigure(`${a.path}: its samples are not in the order of ${first.path}`);
      return run.attributionMap(a, i);
    }));
  }
  return {
    model, attributions, maps, picks, ids: picks.map((i) => first.ids[i]!), labels: picks.map((i) => first.labels[i]!),
    predicted: picks.map((i) => first.predicted[i]!), size, dataSize: N, images, truths,
  };
}

/** The caption sentence on the tiles' size (honest about resizing). */
export function sizeNote(samples: GallerySamples[]): string {
  const resized = samples.filter((s) => s.size !== s.dataSize);
  if (resized.length === 0) return 'Tiles are at the data\'s size.';
  return `Where a model ran on resized images (${[...new Set(resized.map((s) => `${s.dataSize} → ${s.size} px`))].join(', ')}), image and ground truth `
    + 'are shown resized the same way (anti-aliased bilinear; ground truth re-banded at 0.3 / 0.7), i.e. as the model saw them and as the scorer compared them.';
}
