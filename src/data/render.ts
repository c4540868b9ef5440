import type { BackgroundDraw, CellDraw, Rgb, RoundCellDraw, RectCellDraw } from './draw.js';
import type { Geometry } from './geometry.js';
import { maxAbs, norm3, upsampleGrid } from './primitives.js';

/** Heat thresholds and band codes (§1.3): strict `>`; bands 0/1/2 stand for 0 / 0.4 / 0.9. */
export const THRESHOLD_LOCALISATION = 0.05;
export const THRESHOLD_DISCRIMINATIVE = 0.05;
export const BAND_VALUES = [0, 0.4, 0.9] as const;

/** Label bits of the unrotated cell plane. Inner and border never overlap; the feature may cover both. */
const INNER = 1;
const BORDER = 2;
const FEATURE = 4;

/** A cell painted on its own (no background): float64 H×W×3 image, band codes, tail coverage. */
export interface CellRendering {
  image: Float64Array;
  bands: Uint8Array;
  /** 100 · sum(rotated, shifted tail mask) / N² (the reference's tail fraction before rounding). */
  tailPercent: number;
}

/**
 * Paints cells fast, with the semantics of §1.5 (checked against a plain per-channel implementation in
 * test/data). Instead of colourising masks and rotating three-channel part images, it builds one byte
 * plane of mask bits, then does rotation + integer shift in a single inverse-mapped pass over the pixels
 * the rotated cell can reach: per output pixel the four bilinear neighbours' bits give every rotated mask
 * at once (rotation is linear, so Rotate(Colourise(m, rgb)) = Colourise(Rotate(m), rgb) and
 * norm3(Colourise(Rotate(m), rgb)) = Rotate(m)·norm3(rgb)). Buffers are reused between cells; a rendering
 * is valid until the next `paint`.
 */
export class CellPainter {
  private readonly n: number;
  private readonly bits: Uint8Array;
  private readonly fields: Float64Array[];
  private readonly rendering: CellRendering;
  /** Image colour per mask-bit pattern (8 patterns × RGB). */
  private readonly palette = new Float64Array(24);
  /** Windows written by the previous cell, cleared before the next one (instead of whole planes). */
  private bitsWindow: Box | null = null;
  private imageWindow: Box | null = null;

  constructor(private readonly g: Geometry) {
    const n = g.size;
    this.n = n;
    this.bits = new Uint8Array(n * n);
    this.fields = [0, 1, 2].map(() => new Float64Array(n * n));
    this.rendering = { image: new Float64Array(n * n * 3), bands: new Uint8Array(n * n), tailPercent: 0 };
  }

  paint(cell: CellDraw): CellRendering {
    const out = this.rendering;
    this.clear();
    out.tailPercent = 0;
    if (cell.family === 'empty') return out;
    const box = cell.family === 'round' ? this.roundBits(cell) : this.rectBits(cell);
    if (box.rowMax < 0) return out; // nothing drawn
    const [rows, cols] = cell.family === 'round' ? [cell.x0, cell.y0] : [0, 0];
    this.setPalette(cell);
    this.rotateShift(cell, box, rows, cols);
    return out;
  }

  private clear(): void {
    const { n } = this;
    const { image, bands } = this.rendering;
    if (this.bitsWindow) {
      const w = this.bitsWindow;
      for (let i = w.rowMin; i <= w.rowMax; i++) this.bits.fill(0, i * n + w.colMin, i * n + w.colMax + 1);
    }
    if (this.imageWindow) {
      const w = this.imageWindow;
      for (let i = w.rowMin; i <= w.rowMax; i++) {
        image.fill(0, (i * n + w.colMin) * 3, (i * n + w.colMax + 1) * 3);
        bands.fill(0, i * n + w.colMin, i * n + w.colMax + 1);
      }
    }
    this.bitsWindow = null;
    this.imageWindow = null;
  }

  /**
   * The window of the lattice a cell can reach: |X| ≤ reachX, |Y| ≤ reachY around (offsetX, offsetY),
   * clipped to the image. Outside it every mask is 0, so neither noise nor masks are computed there.
   */
  private window(reachX: number, reachY: number, offsetX = 0, offsetY = 0): Box {
    const { n } = this;
    const c = this.g.centre;
    const w = {
      rowMin: Math.max(0, Math.floor(c + offsetY - reachY) - 1),
      rowMax: Math.min(n - 1, Math.ceil(c + offsetY + reachY) + 1),
      colMin: Math.max(0, Math.floor(c + offsetX - reachX) - 1),
      colMax: Math.min(n - 1, Math.ceil(c + offsetX + reachX) + 1),
    };
    this.bitsWindow = w;
    return w;
  }

  /** Mask bits of a round cell (base ball, plus bar/pole/tails), unrotated, centred on (c, c). */
  private roundBits(cell: RoundCellDraw): Box {
    const { n, bits } = this;
    const c = this.g.centre;
    const [dNoise, xJitter, yJitter] = this.fields as [Float64Array, Float64Array, Float64Array];
    const jittered = cell.noise.length === 3;
    const { r, vs, t } = cell;
    // Reach: the ball (sqrt(X² + (Y/vs)²) ≤ r + |noise|), the bar/pole (within r, r·vs of the centre) and the
    // tails (within the far end's distance), each widened by the jitter fields' largest displacement.
    const ballReach = r + maxAbs(cell.noise[0]!.values);
    const jitter = jittered ? Math.max(maxAbs(cell.noise[1]!.values), maxAbs(cell.noise[2]!.values)) : 0;
    const tailReach = cell.tt !== undefined ? Math.hypot(cell.tt / 2, 1.5 * vs * r + t) : 0;
    const featureReach = jittered ? Math.max(r * Math.max(1, vs), tailReach) + jitter : 0;
    const w = this.window(Math.max(ballReach, featureReach), Math.max(ballReach * vs, featureReach));
    const rows: [number, number] = [w.rowMin, w.rowMax];
    const cols: [number, number] = [w.colMin, w.colMax];
    upsampleGrid(cell.noise[0]!.values, cell.noise[0]!.k, n, dNoise, rows, cols);
    if (jittered) {
      upsampleGrid(cell.noise[1]!.values, cell.noise[1]!.k, n, xJitter, rows, cols);
      upsampleGrid(cell.noise[2]!.values, cell.noise[2]!.k, n, yJitter, rows, cols);
    }
    const inner = r - t;
    const barHalf = cell.tb !== undefined ? Math.floor(cell.tb / 2) : -1;
    const poleHalf = cell.tp !== undefined ? Math.floor(cell.tp / 2) : -1;
    const poleReach = r * vs;
    const tailHalf = cell.tt !== undefined ? cell.tt / 2 : -1;
    const tailNear = 0.8 * vs * r;
    const tailFar = 1.5 * vs * r + t;
    const angles = cell.tailAngles ?? [];
    const tailCos = Float64Array.from(angles, (phi) => Math.cos((phi * Math.PI) / 180));
    const tailSin = Float64Array.from(angles, (phi) => Math.sin((phi * Math.PI) / 180));
    const box = emptyBox();
    for (let i = w.rowMin; i <= w.rowMax; i++) {
      const Y = i - c;
      const yScaled = Y / vs;
      const yy = yScaled * yScaled;
      for (let j = w.colMin; j <= w.colMax; j++) {
        const p = i * n + j;
        const X = j - c;
        const d = Math.sqrt(X * X + yy) + dNoise[p]!;
        let v = d < inner ? INNER : d <= r && d >= inner ? BORDER : 0;
        if (jittered) {
          const xj = X + xJitter[p]!;
          const yj = Y + yJitter[p]!;
          let feature = barHalf >= 0 && -r <= xj && xj <= r && -barHalf <= yj && yj <= barHalf;
          if (!feature && poleHalf >= 0) feature = -poleReach <= yj && yj <= poleReach && -poleHalf <= xj && xj <= poleHalf;
          for (let k = 0; !feature && k < angles.length; k++) {
            const cos = tailCos[k]!;
            const sin = tailSin[k]!;
            const x1 = cos * xj - sin * yj;
            const y1 = sin * xj + cos * yj;
            feature = Math.abs(x1) <= tailHalf && tailNear <= y1 && y1 <= tailFar;
          }
          if (feature) v |= FEATURE;
        }
        bits[p] = v;
        if (v !== 0) growBox(box, i, j);
      }
    }
    return box;
  }

  /** Mask bits of a rectangle (types 3–5): both axes jittered by the first noise field (§1.5). */
  private rectBits(cell: RectCellDraw): Box {
    const { n, bits } = this;
    const c = this.g.centre;
    const noise = this.fields[0]!;
    const halfW = Math.floor(cell.w / 2);
    const halfH = Math.floor(cell.h / 2);
    const { t, x0, y0 } = cell;
    const jitter = maxAbs(cell.noise[0]!.values);
    const w = this.window(halfW + jitter, halfH + jitter, x0, y0);
    upsampleGrid(cell.noise[0]!.values, cell.noise[0]!.k, n, noise, [w.rowMin, w.rowMax], [w.colMin, w.colMax]);
    const box = emptyBox();
    for (let i = w.rowMin; i <= w.rowMax; i++) {
      const Y = i - c;
      for (let j = w.colMin; j <= w.colMax; j++) {
        const p = i * n + j;
        const X = j - c;
        const dx = X + noise[p]! - x0;
        const dy = Y + noise[p]! - y0;
        const outer = Math.abs(dx) <= halfW && Math.abs(dy) <= halfH;
        const inside = -halfW + t <= dx && dx <= halfW - t && -halfH + t <= dy && dy <= halfH - t;
        const v = inside ? INNER : outer ? BORDER : 0;
        bits[p] = v;
        if (v !== 0) growBox(box, i, j);
      }
    }
    return box;
  }

  /** Image colour for each bit pattern: the feature wins over the border, the border over the inside. */
  private setPalette(cell: RoundCellDraw | RectCellDraw): void {
    for (let v = 0; v < 8; v++) {
      const rgb: Rgb | null =
        v & FEATURE && cell.family === 'round' && cell.feature ? cell.feature : v & BORDER ? cell.border : v & INNER ? cell.inner : null;
      for (let ch = 0; ch < 3; ch++) this.palette[v * 3 + ch] = rgb ? rgb[ch] : 0;
    }
  }

  /**
   * Rotate by θ about (N/2 − 0.5) and shift by whole pixels, fused: output (i, j) samples the rotated plane
   * at (i − rows, j − cols), which samples the bit plane bilinearly. Only output pixels whose source lands
   * within a pixel of the cell's box are visited; all others stay 0.
   */
  private rotateShift(cell: RoundCellDraw | RectCellDraw, box: Box, rows: number, cols: number): void {
    const { n, bits, palette } = this;
    const { image, bands } = this.rendering;
    const t = (cell.theta * Math.PI) / 180;
    const cos = Math.cos(t);
    const sin = Math.sin(t);
    const centre = n / 2 - 0.5;
    const region = reachableRegion(box, cos, sin, centre, rows, cols, n);
    this.imageWindow = region;
    const nBorder = norm3(cell.border[0], cell.border[1], cell.border[2]);
    const nInner = norm3(cell.inner[0], cell.inner[1], cell.inner[2]);
    const feature = cell.family === 'round' ? cell.feature : undefined;
    const nFeature = feature ? norm3(feature[0], feature[1], feature[2]) : 0;
    const borderIsFeature = !feature;
    const sinDq = new Float64Array(n);
    const cosDq = new Float64Array(n);
    for (let q = 0; q < n; q++) {
      sinDq[q] = sin * (q - centre);
      cosDq[q] = cos * (q - centre);
    }
    let featureSum = 0;
    for (let i = region.rowMin; i <= region.rowMax; i++) {
      const r = i - rows;
      const cosDr = cos * (r - centre);
      const sinDr = sin * (r - centre);
      for (let j = region.colMin; j <= region.colMax; j++) {
        const q = j - cols;
        const sr = centre + sinDq[q]! + cosDr;
        const sc = centre + cosDq[q]! - sinDr;
        const r0 = Math.floor(sr);
        const c0 = Math.floor(sc);
        if (r0 < -1 || r0 >= n || c0 < -1 || c0 >= n) continue;
        const dr = sr - r0;
        const dc = sc - c0;
        const rowOk0 = r0 >= 0;
        const rowOk1 = r0 + 1 < n;
        const colOk0 = c0 >= 0;
        const colOk1 = c0 + 1 < n;
        const base = r0 * n + c0;
        const tl = rowOk0 && colOk0 ? bits[base]! : 0;
        const tr = rowOk0 && colOk1 ? bits[base + 1]! : 0;
        const bl = rowOk1 && colOk0 ? bits[base + n]! : 0;
        const br = rowOk1 && colOk1 ? bits[base + n + 1]! : 0;
        if ((tl | tr | bl | br) === 0) continue;
        const p = i * n + j;
        for (let ch = 0; ch < 3; ch++) {
          const top = (1 - dc) * palette[tl * 3 + ch]! + dc * palette[tr * 3 + ch]!;
          const bottom = (1 - dc) * palette[bl * 3 + ch]! + dc * palette[br * 3 + ch]!;
          image[p * 3 + ch] = (1 - dr) * top + dr * bottom;
        }
        const wTl = (1 - dr) * (1 - dc);
        const wTr = (1 - dr) * dc;
        const wBl = dr * (1 - dc);
        const wBr = dr * dc;
        const inner = (tl & INNER) * wTl + (tr & INNER) * wTr + (bl & INNER) * wBl + (br & INNER) * wBr;
        const border = ((tl & BORDER) * wTl + (tr & BORDER) * wTr + (bl & BORDER) * wBl + (br & BORDER) * wBr) / BORDER;
        if (borderIsFeature) {
          const f = border * nBorder > THRESHOLD_DISCRIMINATIVE;
          bands[p] = f ? 2 : inner * nInner > THRESHOLD_LOCALISATION ? 1 : 0;
        } else {
          const feat = ((tl & FEATURE) * wTl + (tr & FEATURE) * wTr + (bl & FEATURE) * wBl + (br & FEATURE) * wBr) / FEATURE;
          featureSum += feat;
          const f = feat * nFeature > THRESHOLD_DISCRIMINATIVE;
          const l = border * nBorder > THRESHOLD_LOCALISATION || inner * nInner > THRESHOLD_LOCALISATION;
          bands[p] = f ? 2 : l ? 1 : 0;
        }
      }
    }
    this.rendering.tailPercent = (100 * featureSum) / (n * n);
  }
}

interface Box {
  rowMin: number;
  rowMax: number;
  colMin: number;
  colMax: number;
}

function emptyBox(): Box {
  return { rowMin: Infinity, rowMax: -1, colMin: Infinity, colMax: -1 };
}

function growBox(box: Box, i: number, j: number): void {
  if (i < box.rowMin) box.rowMin = i;
  if (i > box.rowMax) box.rowMax = i;
  if (j < box.colMin) box.colMin = j;
  if (j > box.colMax) box.colMax = j;
}

/**
 * Output pixels whose rotated source can touch `box` (grown by one pixel for the bilinear reach): the
 * source box's corners mapped back through the inverse rotation and the shift, padded, clipped to the image.
 */
function reachableRegion(box: Box, cos: number, sin: number, centre: number, rows: number, cols: number, n: number): Box {
  const region = emptyBox();
  for (const sr of [box.rowMin - 1, box.rowMax + 1]) {
    for (const sc of [box.colMin - 1, box.colMax + 1]) {
      const r = centre + cos * (sr - centre) - sin * (sc - centre);
      const q = centre + sin * (sr - centre) + cos * (sc - centre);
      region.rowMin = Math.min(region.rowMin, Math.floor(r) - 1 + rows);
      region.rowMax = Math.max(region.rowMax, Math.ceil(r) + 1 + rows);
      region.colMin = Math.min(region.colMin, Math.floor(q) - 1 + cols);
      region.colMax = Math.max(region.colMax, Math.ceil(q) + 1 + cols);
    }
  }
  return {
    rowMin: Math.max(region.rowMin, Math.max(0, rows)),
    rowMax: Math.min(region.rowMax, Math.min(n - 1, n - 1 + rows)),
    colMin: Math.max(region.colMin, Math.max(0, cols)),
    colMax: Math.min(region.colMax, Math.min(n - 1, n - 1 + cols)),
  };
}

/**
 * Paints a background (§1.6) into three planes (R, G, B; each N×N), or returns null for the black type.
 * Ring distances are measured in reference pixels (D / scale) so the rings look as at the reference size.
 */
export function paintBackground(g: Geometry, bg: BackgroundDraw, planes?: Float64Array[]): Float64Array[] | null {
  if (bg.type === 0) return null;
  const n = g.size;
  const out = planes ?? [0, 1, 2].map(() => new Float64Array(n * n));
  for (let ch = 0; ch < 3; ch++) upsampleGrid(bg.grids[ch]!.values, bg.grids[ch]!.k, n, out[ch]!);
  if (bg.type === 1) return out;
  const [red, green, blue] = out as [Float64Array, Float64Array, Float64Array];
  const [sRed, sGreen, sBlue] = bg.frequencies as [number, number, number];
  const ring = (s: number, d: number, distortion: number): number => {
    const v = 0.5 * (0.5 * Math.sin(((s * (d + distortion * d)) * 180) / Math.PI) + 0.5);
    return v < 0 ? 0 : v > 1 ? 1 : v;
  };
  for (let i = 0; i < n; i++) {
    const dy = i - g.centre - bg.yb;
    for (let j = 0; j < n; j++) {
      const dx = j - g.centre - bg.xb;
      const d = Math.sqrt(dx * dx + dy * dy) / g.scale;
      const p = i * n + j;
      red[p] = ring(sRed, d, red[p]!);
      green[p] = ring(sGreen, d, green[p]!);
      blue[p] = ring(sBlue, d, blue[p]!);
    }
  }
  return out;
}

/**
 * Composites cell and background per channel (§1.6: where the cell's channel < 0.01 the background's channel
 * is added), then stores round(255·clip01(v)) (ties to even: the Uint8ClampedArray store clamps and rounds)
 * into `target` at `offset`.
 */
export function composeInto(cellImage: Float64Array, background: Float64Array[] | null, target: Uint8Array, offset: number): void {
  const pixels = cellImage.length / 3;
  const out = new Uint8ClampedArray(target.buffer, target.byteOffset + offset, pixels * 3);
  if (!background) {
    for (let q = 0; q < pixels * 3; q++) out[q] = cellImage[q]! * 255;
    return;
  }
  const [red, green, blue] = background as [Float64Array, Float64Array, Float64Array];
  for (let p = 0, q = 0; p < pixels; p++, q += 3) {
    const r = cellImage[q]!;
    const g = cellImage[q + 1]!;
    const b = cellImage[q + 2]!;
    out[q] = (r < 0.01 ? r + red[p]! : r) * 255;
    out[q + 1] = (g < 0.01 ? g + green[p]! : g) * 255;
    out[q + 2] = (b < 0.01 ? b + blue[p]! : b) * 255;
  }
}
