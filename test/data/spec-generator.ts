/**
 * A deliberately plain implementation of spec §1.5–1.6, written from the spec's wording with whole
 * three-channel float64 images (Colourise, per-channel Rotate, Shift, Clip01, norm3), no fusion and no
 * shortcuts. The tests paint the same draws with it and with the fast renderer and compare the results.
 */
import type { BackgroundDraw, CellDraw, Rgb } from '../../src/data/draw.js';
import type { Geometry } from '../../src/data/geometry.js';
import { clip01, norm3, quantise, rotatePlane, shiftPlane, upsampleGrid } from '../../src/data/primitives.js';

type Image = Float64Array; // H×W×3, channel last
type Plane = Float64Array; // H×W

const TH = 0.05;

export interface SpecCell {
  image: Image;
  heat: Plane;
  tailPercent: number;
}

function lattice(g: Geometry): { X: Plane; Y: Plane } {
  const n = g.size;
  const X = new Float64Array(n * n);
  const Y = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
    X[i * n + j] = j - g.centre;
    Y[i * n + j] = i - g.centre;
  }
  return { X, Y };
}

function colourise(mask: boolean[], rgb: Rgb): Image {
  const out = new Float64Array(mask.length * 3);
  mask.forEach((m, p) => {
    for (let k = 0; k < 3; k++) out[p * 3 + k] = (m ? 1 : 0) * rgb[k];
  });
  return out;
}

function add(a: Image, b: Image): Image {
  return a.map((v, i) => v + b[i]!);
}

/** `where(mask, a, b)` on images. */
function where(mask: boolean[], a: Image, b: Image): Image {
  return b.map((v, i) => (mask[Math.floor(i / 3)] ? a[i]! : v));
}

function channel(a: Image, k: number): Plane {
  return Float64Array.from({ length: a.length / 3 }, (_, p) => a[p * 3 + k]!);
}

/** Rotate each channel, clipped to the whole image's value range (scikit-image semantics). */
function rotate(a: Image, n: number, theta: number): Image {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of a) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const out = new Float64Array(a.length);
  for (let k = 0; k < 3; k++) rotatePlane(channel(a, k), n, theta, [lo, hi]).forEach((v, p) => (out[p * 3 + k] = v));
  return out;
}

function shift(a: Image, n: number, rows: number, cols: number): Image {
  const out = new Float64Array(a.length);
  for (let k = 0; k < 3; k++) shiftPlane(channel(a, k), n, rows, cols).forEach((v, p) => (out[p * 3 + k] = v));
  return out;
}

function clip(a: Image): Image {
  return a.map(clip01);
}

function normMap(a: Image): Plane {
  return Float64Array.from({ length: a.length / 3 }, (_, p) => norm3(a[p * 3]!, a[p * 3 + 1]!, a[p * 3 + 2]!));
}

export function specRenderCell(g: Geometry, cell: CellDraw): SpecCell {
  const n = g.size;
  const px = n * n;
  if (cell.family === 'empty') return { image: new Float64Array(px * 3), heat: new Float64Array(px), tailPercent: 0 };
  const { X, Y } = lattice(g);
  const field = (f: number): Plane => upsampleGrid(cell.noise[f]!.values, cell.noise[f]!.k, n);

  if (cell.family === 'rect') {
    const noise = field(0);
    const Xj = X.map((x, p) => x + noise[p]!);
    const Yj = Y.map((y, p) => y + noise[p]!);
    const hw = Math.floor(cell.w / 2);
    const hh = Math.floor(cell.h / 2);
    const outer: boolean[] = [];
    const inner: boolean[] = [];
    for (let p = 0; p < px; p++) {
      const dx = Xj[p]! - cell.x0;
      const dy = Yj[p]! - cell.y0;
      outer.push(Math.abs(dx) <= hw && Math.abs(dy) <= hh);
      inner.push(-hw + cell.t <= dx && dx <= hw - cell.t && -hh + cell.t <= dy && dy <= hh - cell.t);
    }
    const borderMask = outer.map((o, p) => o && !inner[p]);
    let borderImg = colourise(borderMask, cell.border);
    let innerImg = colourise(inner, cell.inner);
    let rect = add(borderImg, innerImg);
    rect = clip(rotate(rect, n, cell.theta));
    borderImg = clip(rotate(borderImg, n, cell.theta));
    innerImg = clip(rotate(innerImg, n, cell.theta));
    return { image: rect, heat: borderHeat(normMap(borderImg), normMap(innerImg)), tailPercent: 0 };
  }

  const d = field(0).map((nv, p) => Math.sqrt(X[p]! * X[p]! + (Y[p]! / cell.vs) * (Y[p]! / cell.vs)) + nv);
  const borderMask = Array.from(d, (v) => v <= cell.r && v >= cell.r - cell.t);
  const innerMask = Array.from(d, (v) => v < cell.r - cell.t);
  let borderImg = colourise(borderMask, cell.border);
  let innerImg = colourise(innerMask, cell.inner);
  let ball = add(borderImg, innerImg);
  const place = (a: Image): Image => clip(shift(rotate(a, n, cell.theta), n, cell.x0, cell.y0));

  if (cell.cellType === 0) {
    ball = place(ball);
    borderImg = place(borderImg);
    innerImg = place(innerImg);
    return { image: ball, heat: borderHeat(normMap(borderImg), normMap(innerImg)), tailPercent: 0 };
  }

  const xField = field(1);
  const yField = field(2);
  const Xj = X.map((x, p) => x + xField[p]!);
  const Yj = Y.map((y, p) => y + yField[p]!);
  const feature: boolean[] = [];
  for (let p = 0; p < px; p++) {
    const x = Xj[p]!;
    const y = Yj[p]!;
    let f = false;
    if (cell.tb !== undefined) f ||= -cell.r <= x && x <= cell.r && -Math.floor(cell.tb / 2) <= y && y <= Math.floor(cell.tb / 2);
    if (cell.tp !== undefined) f ||= -cell.r * cell.vs <= y && y <= cell.r * cell.vs && -Math.floor(cell.tp / 2) <= x && x <= Math.floor(cell.tp / 2);
    for (const phi of cell.tailAngles ?? []) {
      const c = Math.cos((phi * Math.PI) / 180);
      const s = Math.sin((phi * Math.PI) / 180);
      const x1 = c * x - s * y;
      const y1 = s * x + c * y;
      f ||= Math.abs(x1) <= cell.tt! / 2 && 0.8 * cell.vs * cell.r <= y1 && y1 <= 1.5 * cell.vs * cell.r + cell.t;
    }
    feature.push(f);
  }
  let featureImg = colourise(feature, cell.feature!);
  ball = where(feature, featureImg, ball);
  ball = place(ball);
  innerImg = place(innerImg);
  borderImg = place(borderImg);
  featureImg = place(featureImg);
  let tailPercent = 0;
  if (cell.tailAngles) {
    const tailPos = shift(rotate(colourise(feature, [1, 1, 1]), n, cell.theta), n, cell.x0, cell.y0);
    tailPercent = (100 * tailPos.reduce((a, b) => a + b, 0)) / (3 * n * n);
  }
  const nb = normMap(borderImg);
  const ni = normMap(innerImg);
  const nf = normMap(featureImg);
  const heat = nb.map((_, p) => (nf[p]! > TH ? 0.9 : nb[p]! > TH || ni[p]! > TH ? 0.4 : 0));
  return { image: ball, heat, tailPercent };
}

/** Border-feature heat (types 0, 3–5): F = norm3(border) > th_d; L = norm3(inner) > th_l and not F. */
function borderHeat(nb: Plane, ni: Plane): Plane {
  return nb.map((b, p) => {
    const f = b > TH;
    const l = ni[p]! > TH && !f;
    return 0.9 * (f ? 1 : 0) + 0.4 * (l ? 1 : 0);
  });
}

/** §1.6 backgrounds as whole images (null for black). */
export function specBackground(g: Geometry, bg: BackgroundDraw): Image | null {
  if (bg.type === 0) return null;
  const n = g.size;
  const out = new Float64Array(n * n * 3);
  for (let k = 0; k < 3; k++) {
    const grid = upsampleGrid(bg.grids[k]!.values, bg.grids[k]!.k, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) {
      const p = i * n + j;
      if (bg.type === 1) {
        out[p * 3 + k] = grid[p]!;
      } else {
        const X = j - g.centre;
        const Y = i - g.centre;
        const D = Math.sqrt((X - bg.xb) ** 2 + (Y - bg.yb) ** 2) / g.scale;
        out[p * 3 + k] = 0.5 * (0.5 * Math.sin((bg.frequencies[k]! * (D + grid[p]! * D) * 180) / Math.PI) + 0.5);
      }
    }
  }
  return clip(out);
}

/** Per-channel compositing, clip, then the stored uint8 quantisation. */
export function specCompose(cell: Image, bg: Image | null): Uint8Array {
  const out = cell.map((v, i) => clip01(bg && v < 0.01 ? v + bg[i]! : v));
  return Uint8Array.from(out, quantise);
}
