import { Rng } from '../rng/index.js';
import { drawSample, sampleVariables } from './draw.js';
import type { Geometry } from './geometry.js';
import { CellPainter, composeInto, paintBackground } from './render.js';

/** Samples in the stored layout: uint8 images n×N×N×3, labels n, band codes n×N×N (0/1/2). */
export interface SampleBatch {
  images: Uint8Array;
  labels: Uint8Array;
  bands: Uint8Array;
  variables: Record<string, unknown>[];
}

/**
 * Buffers for `count` samples. With `shared`, the arrays live in SharedArrayBuffers so worker threads can
 * write their samples in place (no copies of the pixel data between threads).
 */
export function allocateBatch(size: number, count: number, shared = false): SampleBatch {
  const bytes = (n: number) => new Uint8Array(shared ? new SharedArrayBuffer(n) : new ArrayBuffer(n));
  return { images: bytes(count * size * size * 3), labels: bytes(count), bands: bytes(count * size * size), variables: [] };
}

/** The random stream of one stored sample: independent of worker count, chunking and shard size. */
export function sampleRng(seed: number, split: string, shard: number, index: number): Rng {
  return Rng.derive(seed, split, shard, index);
}

/** Generates samples of one geometry, reusing its buffers (one per thread). */
export class Synthesiser {
  private readonly painter: CellPainter;
  private readonly backgroundPlanes: Float64Array[];

  constructor(readonly geometry: Geometry) {
    this.painter = new CellPainter(geometry);
    this.backgroundPlanes = [0, 1, 2].map(() => new Float64Array(geometry.size * geometry.size));
  }

  /**
   * Draws one sample from `rng` and writes it into `batch` at `slot`; returns its recorded variables.
   * `force` pins label and background type (used by the class × background overview sheet).
   */
  synthesise(rng: Rng, batch: SampleBatch, slot: number, force?: { label: number; background: 0 | 1 | 2 }): Record<string, unknown> {
    const g = this.geometry;
    const pixels = g.size * g.size;
    const draw = drawSample(rng, g, (cell) => this.painter.paint(cell), (r) => r.tailPercent, force);
    const background = paintBackground(g, draw.background, this.backgroundPlanes);
    composeInto(draw.rendered.image, background, batch.images, slot * pixels * 3);
    batch.bands.set(draw.rendered.bands, slot * pixels);
    batch.labels[slot] = draw.label;
    const variables = sampleVariables(draw);
    batch.variables[slot] = variables;
    return variables;
  }
}
