import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { spearman, ssim } from '../../src/scoring/index.js';

// Made by skimage / scipy (test/scoring/fixtures/make_similarity.py) on fixed maps.
const fixture = JSON.parse(readFileSync(new URL('../../../test/scoring/fixtures/similarity.json', import.meta.url), 'utf8')) as {
  cases: Array<{ name: string; height: number; width: number; a: number[]; b: number[]; ssim: number; spearman: number }>;
};

test('SSIM equals skimage structural_similarity (Gaussian, sigma 1.5); Spearman equals scipy spearmanr', () => {
  for (const c of fixture.cases) {
    const s = ssim(c.a, c.b, c.height, c.width);
    assert.ok(Math.abs(s - c.ssim) < 1e-12, `${c.name}: ssim ${s} vs skimage ${c.ssim}`);
    const r = spearman(c.a, c.b)!;
    assert.ok(Math.abs(r - c.spearman) < 1e-12, `${c.name}: spearman ${r} vs scipy ${c.spearman}`);
  }
});

test('a map is fully similar to itself; a constant map has no rank correlation', () => {
  const map = fixture.cases[0]!;
  assert.ok(Math.abs(ssim(map.a, map.a, map.height, map.width) - 1) < 1e-12);
  assert.equal(spearman(map.a, map.a), 1);
  assert.equal(spearman(map.a, map.a.map(() => 0.5)), null);
  assert.ok(Math.abs(spearman(map.a, map.a.map((v) => -v))! + 1) < 1e-12);
});
