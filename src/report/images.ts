import { PNG } from 'pngjs';

/** An RGB raster, row-major, 3 bytes a pixel. */
export interface Raster {
  width: number;
  height: number;
  rgb: Uint8Array;
}

/** Ground-truth colours as on the dataset sheets: band 0 light grey, 0.4 light red, 0.9 dark red. */
export const TRUTH_RGB: ReadonlyArray<readonly [number, number, number]> = [[235, 235, 235], [255, 140, 140], [150, 0, 0]];
/**
 * Colours of the five bands −2 … 2 of a stratified heatmap: the ground truth's palette for 0, 1, 2 and its
 * blue mirror for the negative bands, so a band map and the ground truth compare colour for colour.
 */
export const BAND_RGB: ReadonlyArray<readonly [number, number, number]> = [[0, 0, 150], [140, 140, 255], [235, 235, 235], [255, 140, 140], [150, 0, 0]];

/** An image tile from channel-last RGB bytes (n×N×N×3, sample `index`). */
export function imageRaster(images: Uint8Array, index: number, size: number): Raster {
  const px = size * size;
  return { width: size, height: size, rgb: images.slice(index * px * 3, (index + 1) * px * 3) };
}

/** An image tile from channel-last float RGB in [0, 1]. */
export function floatImageRaster(image: ArrayLike<number>, size: number): Raster {
  const rgb = new Uint8Array(size * size * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = Math.max(0, Math.min(255, Math.round(image[i]! * 255)));
  return { width: size, height: size, rgb };
}

/** A ground-truth tile from band codes 0/1/2 (sample `index` of n×N×N). */
export function truthRaster(bands: ArrayLike<number>, index: number, size: number): Raster {
  const px = size * size;
  const rgb = new Uint8Array(px * 3);
  for (let p = 0; p < px; p++) rgb.set(TRUTH_RGB[bands[index * px + p]!] ?? TRUTH_RGB[0]!, p * 3);
  return { width: size, height: size, rgb };
}

/** A five-band map (values −2 … 2) in the band colours. */
export function bandRaster(bands: ArrayLike<number>, size: number): Raster {
  const px = size * size;
  const rgb = new Uint8Array(px * 3);
  for (let p = 0; p < px; p++) rgb.set(BAND_RGB[bands[p]! + 2] ?? BAND_RGB[2]!, p * 3);
  return { width: size, height: size, rgb };
}

/**
 * A signed map in diverging colours: positive red, negative blue, zero white, on the symmetric scale
 * [−scale, scale] (pass max |value| of the map; 0 gives an all-white tile).
 */
export function divergingRaster(values: ArrayLike<number>, offset: number, size: number, scale: number): Raster {
  const px = size * size;
  const rgb = new Uint8Array(px * 3);
  for (let p = 0; p < px; p++) {
    const t = scale > 0 ? Math.max(-1, Math.min(1, values[offset + p]! / scale)) : 0;
    const fade = Math.round(255 * (1 - Math.abs(t)));
    // White → red (255, 0, 0) for t > 0, white → blue (0, 0, 255) for t < 0.
    const [r, g, b] = t >= 0 ? [255, fade, fade] : [fade, fade, 255];
    rgb[p * 3] = r;
    rgb[p * 3 + 1] = g;
    rgb[p * 3 + 2] = b;
  }
  return { width: size, height: size, rgb };
}

/** max |values[offset … offset+count)|. */
export function maxAbs(values: ArrayLike<number>, offset: number, count: number): number {
  let m = 0;
  for (let i = offset; i < offset + count; i++) m = Math.max(m, Math.abs(values[i]!));
  return m;
}

/** PNG bytes of a raster, enlarged `scale` times with nearest neighbours. */
export function encodePng(raster: Raster, scale = 1): Uint8Array {
  const width = raster.width * scale;
  const height = raster.height * scale;
  const png = new PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const s = (Math.floor(y / scale) * raster.width + Math.floor(x / scale)) * 3;
      const d = (y * width + x) * 4;
      png.data[d] = raster.rgb[s]!;
      png.data[d + 1] = raster.rgb[s + 1]!;
      png.data[d + 2] = raster.rgb[s + 2]!;
      png.data[d + 3] = 255;
    }
  }
  return new Uint8Array(PNG.sync.write(png));
}

/**
 * A grid of tiles (rows × columns, null = empty) on white with gaps, enlarged so that a tile is at least
 * `minTile` pixels: the gallery's single picture for slides.
 */
export function composeGrid(rows: ReadonlyArray<ReadonlyArray<Raster | null>>, minTile = 128, gap = 6): Uint8Array {
  const tile = Math.max(1, ...rows.flat().map((r) => (r ? Math.max(r.width, r.height) : 1)));
  const scale = Math.max(1, Math.ceil(minTile / tile));
  const cell = tile * scale;
  const cols = Math.max(1, ...rows.map((r) => r.length));
  const width = gap + cols * (cell + gap);
  const height = gap + rows.length * (cell + gap);
  const png = new PNG({ width, height });
  png.data.fill(255);
  rows.forEach((row, i) => row.forEach((raster, j) => {
    if (!raster) return;
    const left = gap + j * (cell + gap);
    const top = gap + i * (cell + gap);
    for (let y = 0; y < raster.height * scale; y++) {
      for (let x = 0; x < raster.width * scale; x++) {
        const s = (Math.floor(y / scale) * raster.width + Math.floor(x / scale)) * 3;
        const d = ((top + y) * width + left + x) * 4;
        png.data[d] = raster.rgb[s]!;
        png.data[d + 1] = raster.rgb[s + 1]!;
        png.data[d + 2] = raster.rgb[s + 2]!;
      }
    }
  }));
  return new Uint8Array(PNG.sync.write(png));
}
