import type { Rng } from '../rng/index.js';
import type { Geometry } from './geometry.js';

/**
 * Parameter drawing (spec §1.4–1.7), separate from rendering so that the fast renderer and the plain
 * spec-following one in the tests paint exactly the same draws. Lengths are in this dataset's pixels
 * (reference pixels × geometry.scale); colours are RGB in [0, 1].
 */

export type Rgb = [number, number, number];

/** Reference names of the cell types (recorded as `type` in each sample's variables). */
export const CELL_TYPE_NAMES = [
  'CCellX', 'CCellMX', 'CCellPX', 'RCellX', 'RCellX', 'RCellX', 'CCellTX', 'CCellTX', 'CCellTX', 'NOISE',
] as const;

/** Short human names of the ten cell types 0–9 (the 10-class labels). */
export const CELL_TYPE_LABELS = [
  'plain', 'bar', 'plus', 'red-border rect', 'green-border rect', 'blue-border rect', 'one tail', 'three tails',
  'eight tails', 'empty',
] as const;

/** Cell type (0–9) drawn for each label of the 3-class demo (§1.8): plus, green-border rect, eight tails. */
export const THREE_CLASS_TYPES = [2, 4, 8] as const;

export function cellTypeOfLabel(classes: 10 | 3, label: number): number {
  return classes === 10 ? label : THREE_CLASS_TYPES[label]!;
}

/** Tail directions φ in degrees for the tailed cells. */
const TAIL_ANGLES: Record<number, number[]> = { 6: [0], 7: [0, 120, 240], 8: [0, 45, 90, 135, 180, 225, 270, 315] };

/** A k×k grid of random values (row-major) that NoiseField / the backgrounds upsample to N×N. */
export interface Grid {
  k: number;
  values: Float64Array;
}

/** Round cells: types 0 (plain), 1 (bar), 2 (plus), 6–8 (tails). */
export interface RoundCellDraw {
  family: 'round';
  cellType: number;
  r: number;
  vs: number;
  t: number;
  /** Bar thickness (types 1, 2). */
  tb?: number;
  /** Pole thickness (type 2). */
  tp?: number;
  /** Tail thickness (types 6–8). */
  tt?: number;
  tailAngles?: number[];
  sigma: number;
  rho: number;
  border: Rgb;
  inner: Rgb;
  /** Colour of the bar/plus (= border) or of the tails (clip01(0.75·border)). */
  feature?: Rgb;
  /** Shift in rows (x0) and columns (y0), as the reference uses them for round cells. */
  x0: number;
  y0: number;
  theta: number;
  /** Noise fields in draw order: d-noise, then X-jitter and Y-jitter for types 1, 2, 6–8. */
  noise: Grid[];
}

/** Rectangles: types 3, 4, 5 (red, green, blue border). */
export interface RectCellDraw {
  family: 'rect';
  cellType: number;
  h: number;
  w: number;
  t: number;
  sigma: number;
  rho: number;
  border: Rgb;
  inner: Rgb;
  /** Column offset (x0) and row offset (y0) of the rectangle's centre. */
  x0: number;
  y0: number;
  theta: number;
  /** Two fields are drawn; the reference jitters both axes with the first (the second is unused, §1.5). */
  noise: Grid[];
}

export interface EmptyCellDraw {
  family: 'empty';
  cellType: 9;
}

export type CellDraw = RoundCellDraw | RectCellDraw | EmptyCellDraw;

export interface BackgroundDraw {
  /** 0 black, 1 blotchy colour, 2 distorted rings (§1.6). */
  type: 0 | 1 | 2;
  /** Ring centre offsets in lattice coordinates (drawn for every type, as the reference does). */
  xb: number;
  yb: number;
  /** Per channel: the U(0.2, 0.7) grid (type 1) or the U(−0.3, 0.3) distortion grid (type 2). */
  grids: Grid[];
  /** Per channel ring frequency s ~ U(1e-4, 1e-3) (type 2). */
  frequencies: number[];
}

export interface SampleDraw<R> {
  label: number;
  cell: CellDraw;
  background: BackgroundDraw;
  /** Whatever the caller's renderer made of the accepted cell draw. */
  rendered: R;
  /** Cell draws made (more than 1 only where the tail-fraction rejection repeated the draw). */
  attempts: number;
}

/** A type-6 draw is repeated until its tail covers at least this percentage of the image (§1.5). */
export const MIN_TAIL_PERCENT = 0.3;

function uniformRgb(rng: Rng, lo: Rgb, hi: Rgb): Rgb {
  return [rng.uniform(lo[0], hi[0]), rng.uniform(lo[1], hi[1]), rng.uniform(lo[2], hi[2])];
}

function normalGrid(rng: Rng, k: number, sigma: number): Grid {
  const values = new Float64Array(k * k);
  for (let i = 0; i < values.length; i++) values[i] = rng.normal(0, sigma);
  return { k, values };
}

function uniformGrid(rng: Rng, k: number, lo: number, hi: number): Grid {
  const values = new Float64Array(k * k);
  for (let i = 0; i < values.length; i++) values[i] = rng.uniform(lo, hi);
  return { k, values };
}

/** x0, y0 = trunc(U(−0.33N, 0.33N)), then θ = U(−60, 60) (§1.2.5). */
function drawPlacement(rng: Rng, g: Geometry): { x0: number; y0: number; theta: number } {
  const reach = 0.33 * g.size;
  const x0 = Math.trunc(rng.uniform(-reach, reach));
  const y0 = Math.trunc(rng.uniform(-reach, reach));
  return { x0, y0, theta: rng.uniform(-60, 60) };
}

/** Noise roughness is drawn in reference pixels; the coarse grid count k = floor(referenceSize / rho) is the same at every N. */
function drawRoughness(rng: Rng, g: Geometry): { sigma: number; rhoRef: number; k: number } {
  const sigma = rng.uniform(6, 12) * g.scale;
  const rhoRef = rng.uniform(31, 64);
  return { sigma, rhoRef, k: Math.floor(g.referenceSize / rhoRef) };
}

const INNER_LO: Rgb = [0.1, 0.1, 0.3];
const INNER_HI: Rgb = [0.3, 0.3, 0.5];
const RECT_BORDER: Record<number, [Rgb, Rgb]> = {
  3: [[0.6, 0, 0], [0.9, 0.2, 0.2]],
  4: [[0, 0.6, 0], [0.2, 0.9, 0.2]],
  5: [[0, 0, 0.6], [0.2, 0.2, 0.9]],
};

/** One draw of a cell's parameters, colours, placement and noise grids, in the reference's order (§1.7). */
export function drawCell(rng: Rng, g: Geometry, cellType: number): CellDraw {
  const s = g.scale;
  const ts = g.thicknessScale;
  if (cellType === 9) return { family: 'empty', cellType: 9 };
  if (cellType >= 3 && cellType <= 5) {
    const h = rng.uniform(100, 200) * s;
    const w = rng.uniform(100, 200) * s;
    const t = rng.uniform(10, 30) * ts;
    const { sigma, rhoRef, k } = drawRoughness(rng, g);
    const [lo, hi] = RECT_BORDER[cellType]!;
    const border = uniformRgb(rng, lo, hi);
    const inner = uniformRgb(rng, INNER_LO, INNER_HI);
    const { x0, y0, theta } = drawPlacement(rng, g);
    const noise = [normalGrid(rng, k, sigma), normalGrid(rng, k, sigma)];
    return { family: 'rect', cellType, h, w, t, sigma, rho: rhoRef * s, border, inner, x0, y0, theta, noise };
  }
  const r = rng.uniform(90, 110) * s;
  const vs = rng.uniform(0.5, 1.5);
  const t = rng.uniform(10, 30) * ts;
  const cell: RoundCellDraw = {
    family: 'round', cellType, r, vs, t, sigma: 0, rho: 0, border: [0, 0, 0], inner: [0, 0, 0], x0: 0, y0: 0, theta: 0, noise: [],
  };
  if (cellType === 1 || cellType === 2) cell.tb = rng.uniform(10, 30) * ts;
  if (cellType === 2) cell.tp = rng.uniform(5, 40) * ts;
  if (cellType >= 6) {
    cell.tt = rng.uniform(10, 30) * ts;
    cell.tailAngles = TAIL_ANGLES[cellType]!;
  }
  const { sigma, rhoRef, k } = drawRoughness(rng, g);
  cell.sigma = sigma;
  cell.rho = rhoRef * s;
  cell.border = uniformRgb(rng, [0.5, 0.5, 0.5], [0.9, 0.9, 0.9]);
  cell.inner = uniformRgb(rng, INNER_LO, INNER_HI);
  if (cellType === 2 || cellType >= 6) uniformRgb(rng, [0.5, 0.5, 0.5], [0.9, 0.9, 0.9]); // drawn and discarded, as the reference
  if (cellType === 1 || cellType === 2) cell.feature = cell.border;
  if (cellType >= 6) cell.feature = cell.border.map((c) => Math.min(1, Math.max(0, 0.75 * c))) as Rgb;
  Object.assign(cell, drawPlacement(rng, g));
  const fields = cellType === 0 ? 1 : 3;
  for (let f = 0; f < fields; f++) cell.noise.push(normalGrid(rng, k, sigma));
  return cell;
}

/** The background's random parts (§1.6); lattices as at the reference size: k = refSize/64 and refSize/32. */
export function drawBackground(rng: Rng, g: Geometry, type: 0 | 1 | 2): BackgroundDraw {
  const xb = rng.int(Math.floor(g.size / 4), Math.floor((3 * g.size) / 4));
  const yb = rng.int(Math.floor(g.size / 4), Math.floor((3 * g.size) / 4));
  const draw: BackgroundDraw = { type, xb, yb, grids: [], frequencies: [] };
  if (type === 1) {
    for (let ch = 0; ch < 3; ch++) draw.grids.push(uniformGrid(rng, Math.floor(g.referenceSize / 64), 0.2, 0.7));
  } else if (type === 2) {
    for (let ch = 0; ch < 3; ch++) {
      draw.grids.push(uniformGrid(rng, Math.floor(g.referenceSize / 32), -0.3, 0.3));
      draw.frequencies.push(rng.uniform(1e-4, 1e-3));
    }
  }
  return draw;
}

/** numpy's round(x, 2) (round half to even on x·100). */
export function roundTo2(x: number): number {
  const y = x * 100;
  let r = Math.round(y);
  if (r - y === 0.5 && r % 2 !== 0) r -= 1;
  return r / 100;
}

/**
 * One sample's draws (§1.7): label, background type, the cell (repeating type-6 draws whose rendered tail
 * covers < 0.3 % of the image, 10-class only), then the background. `render` paints a cell draw;
 * `tailPercent` reads 100·sum(tail)/N² off a rendering. `force` pins label and background (sample sheets).
 */
export function drawSample<R>(
  rng: Rng,
  g: Geometry,
  render: (cell: CellDraw) => R,
  tailPercent: (rendered: R) => number,
  force?: { label: number; background: 0 | 1 | 2 },
): SampleDraw<R> {
  const drawnLabel = rng.int(0, g.classes);
  const drawnBackground = rng.int(0, 3) as 0 | 1 | 2;
  const label = force ? force.label : drawnLabel;
  const backgroundType = force ? force.background : drawnBackground;
  const cellType = cellTypeOfLabel(g.classes, label);
  const rejects = g.classes === 10 && cellType === 6;
  let attempts = 0;
  let cell: CellDraw;
  let rendered: R;
  do {
    attempts++;
    cell = drawCell(rng, g, cellType);
    rendered = render(cell);
  } while (rejects && roundTo2(tailPercent(rendered)) < MIN_TAIL_PERCENT);
  return { label, cell, background: drawBackground(rng, g, backgroundType), rendered, attempts };
}

/** The per-sample record stored in shard metadata, with the reference's keys (§1.5) plus a few of ours. */
export function sampleVariables(draw: SampleDraw<unknown>): Record<string, unknown> {
  const { cell, background } = draw;
  const bg = { type: background.type, xb: background.xb, yb: background.yb, ...(background.type === 2 ? { s: background.frequencies } : {}) };
  const common = { type: CELL_TYPE_NAMES[cell.cellType], cellType: cell.cellType, y0: draw.label, bg_rand: background.type, background: bg };
  if (cell.family === 'empty') return common;
  const noise = { sigma: cell.sigma, rho: cell.rho, k: cell.noise[0]!.k };
  if (cell.family === 'rect') {
    return {
      ...common, center: [cell.x0, cell.y0], theta: cell.theta,
      shape_setting: { h: cell.h, w: cell.w, t: cell.t, ...noise },
      color_setting: { border: cell.border, inner: cell.inner },
    };
  }
  const shape: Record<string, unknown> = { r: cell.r, vs: cell.vs, t: cell.t };
  if (cell.tb !== undefined) shape.tb = cell.tb;
  if (cell.tp !== undefined) shape.tp = cell.tp;
  if (cell.tt !== undefined) Object.assign(shape, { tt: cell.tt, ratio: 1.5, tailAngles: cell.tailAngles });
  const colours: Record<string, unknown> = { border: cell.border, inner: cell.inner };
  if (cell.feature) colours[cell.cellType >= 6 ? 'tail' : 'bar'] = cell.feature;
  return {
    ...common, center: [cell.x0, cell.y0], theta: cell.theta, shape_setting: { ...shape, ...noise }, color_setting: colours,
    ...(draw.attempts > 1 ? { attempts: draw.attempts } : {}),
  };
}
