import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng } from '../../src/rng/index.js';
import { drawBackground, drawSample, roundTo2, sampleVariables, type CellDraw, type RoundCellDraw, type RectCellDraw } from '../../src/data/draw.js';
import { geometryFor, type Geometry } from '../../src/data/geometry.js';
import { CellPainter, paintBackground } from '../../src/data/render.js';
import { allocateBatch, Synthesiser } from '../../src/data/synthesise.js';
import { specBackground, specCompose, specRenderCell } from './spec-generator.js';

const BACKGROUNDS = [0, 1, 2] as const;

/** Fast path: the Synthesiser's stored bytes for a forced label/background. */
function fastSample(g: Geometry, seed: number, label: number, background: 0 | 1 | 2) {
  const batch = allocateBatch(g.size, 1);
  new Synthesiser(g).synthesise(Rng.derive(seed, 'cmp', label, background), batch, 0, { label, background });
  return batch;
}

/** Plain path: the same draws painted by the spec-following implementation. */
function specSample(g: Geometry, seed: number, label: number, background: 0 | 1 | 2) {
  const draw = drawSample(Rng.derive(seed, 'cmp', label, background), g, (cell) => specRenderCell(g, cell), (r) => r.tailPercent, { label, background });
  const image = specCompose(draw.rendered.image, specBackground(g, draw.background));
  const bands = Uint8Array.from(draw.rendered.heat, (h) => (h === 0 ? 0 : h === 0.4 ? 1 : h === 0.9 ? 2 : 255));
  return { image, bands, variables: sampleVariables(draw) };
}

function countDiff(a: Uint8Array, b: Uint8Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) d++;
  return d;
}

describe('fast renderer equals the plain spec implementation', () => {
  const cases: [Geometry, number][] = [[geometryFor(64, 10), 11], [geometryFor(96, 10), 12], [geometryFor(80, 3), 13]];
  for (const [g, seed] of cases) {
    it(`every class and background at N=${g.size}, ${g.classes} classes`, () => {
      for (let label = 0; label < g.classes; label++) {
        for (const background of BACKGROUNDS) {
          const fast = fastSample(g, seed, label, background);
          const spec = specSample(g, seed, label, background);
          assert.deepEqual(fast.variables[0], spec.variables, `variables of class ${label} bg ${background}`);
          assert.equal(countDiff(fast.bands, spec.bands), 0, `bands of class ${label} bg ${background}`);
          assert.equal(countDiff(fast.images, spec.image), 0, `image of class ${label} bg ${background}`);
        }
      }
    });
  }
  it('the 3-class demo at its reference size 256 (scale 1: the literal pixel parameters)', () => {
    const g = geometryFor(256, 3);
    for (let label = 0; label < 3; label++) {
      const background = (label % 3) as 0 | 1 | 2;
      const fast = fastSample(g, 5, label, background);
      const spec = specSample(g, 5, label, background);
      assert.equal(countDiff(fast.bands, spec.bands), 0, `bands of class ${label}`);
      assert.equal(countDiff(fast.images, spec.image), 0, `image of class ${label}`);
    }
  });
  it('an eight-tailed cell on rings at the paper size 512', () => {
    const g = geometryFor(512, 10);
    const fast = fastSample(g, 5, 8, 2);
    const spec = specSample(g, 5, 8, 2);
    assert.equal(countDiff(fast.bands, spec.bands), 0);
    assert.equal(countDiff(fast.images, spec.image), 0);
  });
});

/** Draws `count` samples of one class with the fast painter, keeping draw and rendering. */
function* drawsOf(g: Geometry, label: number, count: number, background: 0 | 1 | 2 = 0) {
  const painter = new CellPainter(g);
  for (let i = 0; i < count; i++) {
    const draw = drawSample(Rng.derive(3, 'class', label, i), g, (cell) => {
      const r = painter.paint(cell);
      return { bands: r.bands.slice(), image: r.image.slice(), tailPercent: r.tailPercent };
    }, (r) => r.tailPercent, { label, background });
    yield draw;
  }
}

/** Where an output pixel came from in the unrotated, unshifted cell (lattice X, Y). */
function sourceOf(g: Geometry, cell: RoundCellDraw | RectCellDraw, i: number, j: number): { X: number; Y: number } {
  const [rows, cols] = cell.family === 'round' ? [cell.x0, cell.y0] : [0, 0];
  const t = (cell.theta * Math.PI) / 180;
  const centre = g.size / 2 - 0.5;
  const dr = i - rows - centre;
  const dq = j - cols - centre;
  const sr = centre + Math.sin(t) * dq + Math.cos(t) * dr;
  const sc = centre + Math.cos(t) * dq - Math.sin(t) * dr;
  return { X: sc - g.centre, Y: sr - g.centre };
}

/** How far the noise fields can move a mask edge, plus the bilinear reach. */
function slackOf(cell: CellDraw): number {
  if (cell.family === 'empty') return 0;
  return Math.max(...cell.noise.flatMap((grid) => Array.from(grid.values, Math.abs))) + 1.5;
}

describe('ground truth per class (N = 96)', () => {
  const g = geometryFor(96, 10);
  it('the empty class has all-zero bands; every other class has localisation and discriminative bands', () => {
    for (let label = 0; label < 10; label++) {
      for (const draw of drawsOf(g, label, 6)) {
        const counts = [0, 0, 0, 0];
        for (const b of draw.rendered.bands) counts[Math.min(b, 3)]!++;
        assert.equal(counts[3], 0, 'band codes are 0, 1 or 2');
        if (label === 9) assert.equal(counts[0], g.size * g.size, 'empty class: no ground truth');
        else assert.ok(counts[1]! > 0 && counts[2]! > 0, `class ${label}: both bands present (${counts})`);
      }
    }
  });

  it('the discriminative band lies where the spec puts it (border, bar/plus, tails)', () => {
    for (const label of [0, 1, 2, 3, 4, 5, 6, 7, 8]) {
      for (const draw of drawsOf(g, label, 4)) {
        const cell = draw.cell as RoundCellDraw | RectCellDraw;
        const slack = slackOf(cell);
        for (let i = 0; i < g.size; i++) for (let j = 0; j < g.size; j++) {
          if (draw.rendered.bands[i * g.size + j] !== 2) continue;
          const { X, Y } = sourceOf(g, cell, i, j);
          let ok: boolean;
          if (cell.family === 'rect') {
            const dx = Math.abs(X - cell.x0);
            const dy = Math.abs(Y - cell.y0);
            const hw = Math.floor(cell.w / 2);
            const hh = Math.floor(cell.h / 2);
            const insideOuter = dx <= hw + slack && dy <= hh + slack;
            const deepInside = dx < hw - cell.t - slack && dy < hh - cell.t - slack;
            ok = insideOuter && !deepInside;
          } else if (label === 0) {
            const d = Math.sqrt(X * X + (Y / cell.vs) ** 2);
            ok = d >= cell.r - cell.t - slack && d <= cell.r + slack;
          } else if (label === 1 || label === 2) {
            const onBar = Math.abs(Y) <= cell.tb! / 2 + slack && Math.abs(X) <= cell.r + slack;
            const onPole = label === 2 && Math.abs(X) <= cell.tp! / 2 + slack && Math.abs(Y) <= cell.r * cell.vs + slack;
            ok = onBar || onPole;
          } else {
            ok = cell.tailAngles!.some((phi) => {
              const c = Math.cos((phi * Math.PI) / 180);
              const s = Math.sin((phi * Math.PI) / 180);
              const x1 = c * X - s * Y;
              const y1 = s * X + c * Y;
              return Math.abs(x1) <= cell.tt! / 2 + 2 * slack && y1 >= 0.8 * cell.vs * cell.r - 2 * slack && y1 <= 1.5 * cell.vs * cell.r + cell.t + 2 * slack;
            });
          }
          assert.ok(ok, `class ${label}: band-2 pixel (${i}, ${j}) maps to (${X.toFixed(1)}, ${Y.toFixed(1)}), off the feature`);
        }
      }
    }
  });

  it('rectangle borders (types 3, 4, 5) are dominated by red, green, blue', () => {
    for (const [label, dominant] of [[3, 0], [4, 1], [5, 2]] as const) {
      for (const draw of drawsOf(g, label, 4)) {
        const sums = [0, 0, 0];
        const { bands, image } = draw.rendered;
        for (let p = 0; p < bands.length; p++) if (bands[p] === 2) for (let k = 0; k < 3; k++) sums[k]! += image[p * 3 + k]!;
        for (let k = 0; k < 3; k++) if (k !== dominant) assert.ok(sums[dominant]! > 2 * sums[k]!, `type ${label}: channel sums ${sums}`);
      }
    }
  });

  it('type 6 draws are repeated until the tail covers >= 0.3 % of the image', () => {
    let repeated = 0;
    for (const draw of drawsOf(g, 6, 30)) {
      assert.ok(roundTo2(draw.rendered.tailPercent) >= 0.3, `tail ${draw.rendered.tailPercent}`);
      if (draw.attempts > 1) repeated++;
    }
    assert.ok(repeated > 0, 'some of 30 draws needed a repeat');
  });

  it('3-class labels map to plus, green-border rectangle and eight tails, without rejection', () => {
    const g3 = geometryFor(64, 3);
    const synth = new Synthesiser(g3);
    const batch = allocateBatch(64, 30);
    for (let i = 0; i < 30; i++) synth.synthesise(Rng.derive(9, i), batch, i);
    for (let i = 0; i < 30; i++) {
      const v = batch.variables[i]!;
      assert.ok(batch.labels[i]! < 3);
      assert.equal(v.cellType, [2, 4, 8][batch.labels[i]!]);
      assert.equal(v.attempts, undefined);
    }
  });
});

describe('backgrounds', () => {
  it('type 1 lies in [0.2, 0.7], type 2 in [0, 0.5], type 0 is black (empty class images)', () => {
    for (const size of [64, 128]) {
      const g = geometryFor(size, 10);
      for (let s = 0; s < 4; s++) {
        for (const type of BACKGROUNDS) {
          const planes = paintBackground(g, drawBackground(Rng.derive(s, type), g, type));
          if (type === 0) {
            assert.equal(planes, null);
            continue;
          }
          const [lo, hi] = type === 1 ? [0.2, 0.7] : [0, 0.5];
          for (const plane of planes!) for (const v of plane) assert.ok(v >= lo && v <= hi, `type ${type} value ${v}`);
          const image = fastSample(g, s, 9, type).images;
          for (const v of image) assert.ok(v >= Math.round(lo * 255) && v <= Math.round(hi * 255));
        }
        assert.ok(fastSample(g, s, 9, 0).images.every((v) => v === 0), 'empty class on black: all zero');
      }
    }
  });

});

describe('scaling with N', () => {
  it('pixel parameters scale by N/512 and grid counts stay as at 512', () => {
    const [big, small] = [geometryFor(512, 10), geometryFor(128, 10)];
    for (let label = 0; label < 9; label++) {
      const a = drawSample(Rng.derive(4, label), big, (c) => c, () => 100, { label, background: 2 });
      const b = drawSample(Rng.derive(4, label), small, (c) => c, () => 100, { label, background: 2 });
      const [ca, cb] = [a.cell as RoundCellDraw | RectCellDraw, b.cell as RoundCellDraw | RectCellDraw];
      assert.equal(ca.noise[0]!.k, cb.noise[0]!.k);
      assert.ok(Math.abs(cb.t - ca.t / 4) < 1e-9 && Math.abs(cb.sigma - ca.sigma / 4) < 1e-9 && Math.abs(cb.rho - ca.rho / 4) < 1e-9);
      assert.ok(Math.abs(cb.noise[0]!.values[0]! - ca.noise[0]!.values[0]! / 4) < 1e-9, 'noise amplitude scales');
      assert.equal(a.background.grids[0]!.k, b.background.grids[0]!.k);
      if (ca.family === 'round' && cb.family === 'round') assert.ok(Math.abs(cb.r - ca.r / 4) < 1e-9);
    }
  });
  it('thicknesses keep a floor below 128 px, so every class keeps its discriminative feature at the minimum size', () => {
    const [at128, at64] = [geometryFor(128, 10), geometryFor(64, 10)];
    assert.equal(at64.thicknessScale, at128.scale, 'thicknesses at 64 px are those at 128 px');
    assert.equal(at128.thicknessScale, at128.scale, 'unchanged at 128 px and above');
    const a = drawSample(Rng.derive(9, 1), at128, (c) => c, () => 100, { label: 1, background: 0 }).cell as RoundCellDraw;
    const b = drawSample(Rng.derive(9, 1), at64, (c) => c, () => 100, { label: 1, background: 0 }).cell as RoundCellDraw;
    assert.ok(Math.abs(b.t - a.t) < 1e-9 && Math.abs(b.tb! - a.tb!) < 1e-9 && Math.abs(b.r - a.r / 2) < 1e-9);
    for (let label = 0; label < 9; label++) {
      for (let seed = 0; seed < 40; seed++) {
        const { bands } = fastSample(at64, seed, label, (seed % 3) as 0 | 1 | 2);
        assert.ok(bands.some((v) => v === 2), `class ${label} seed ${seed}: no band-2 pixel at 64 px`);
      }
    }
  });
});
