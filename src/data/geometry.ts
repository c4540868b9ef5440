import { ensure } from '../io/index.js';

/** Number of classes a dataset has: the paper's 10-class data or the V2 3-class demo (spec §1.8). */
export type ClassCount = 10 | 3;

/** The image side at which the reference draws each variant with its literal pixel parameters. */
export const REFERENCE_SIZE: Record<ClassCount, number> = { 10: 512, 3: 256 };

/** Smallest supported image side: below it the coarse noise grids (up to 16 cells) stop making sense. */
export const MIN_SIZE = 64;

/**
 * Floor of the scale applied to line thicknesses (border t, bar tb, pole tp, tail tt): below 128 px (10
 * classes) a thickness of 10 reference pixels would shrink under 2.5 px and the floored half-widths of bars,
 * poles and tails would vanish, leaving a class without its discriminative feature. At and above 128 (and for
 * the 3-class data at every allowed size) thicknesses scale exactly like every other length.
 */
export const MIN_THICKNESS_SCALE = 0.25;

/**
 * Image geometry shared by every drawing step. All pixel-valued parameters of the reference (radii,
 * thicknesses, sizes, noise amplitude and roughness, background lattices, ring distances) are multiplied
 * by `scale` = size / referenceSize, so a dataset at another size shows the reference picture at another
 * resolution.
 */
export interface Geometry {
  size: number;
  classes: ClassCount;
  referenceSize: number;
  scale: number;
  /** Scale of line thicknesses: max(scale, MIN_THICKNESS_SCALE). */
  thicknessScale: number;
  /** Centre index c = floor(N/2): lattice coordinates are X = j - c, Y = i - c. */
  centre: number;
}

export function geometryFor(size: number, classes: ClassCount): Geometry {
  ensure(Number.isInteger(size) && size >= MIN_SIZE, `image size must be an integer >= ${MIN_SIZE}, got ${size}`);
  ensure(classes === 10 || classes === 3, `classes must be 10 or 3, got ${String(classes)}`);
  const referenceSize = REFERENCE_SIZE[classes];
  return { size, classes, referenceSize, scale: size / referenceSize,
    thicknessScale: Math.max(size / referenceSize, MIN_THICKNESS_SCALE), centre: Math.floor(size / 2) };
}
