import assert from 'node:assert/strict';
import { readFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { regressionHashes } from './regression-cases.js';

test('score outputs are byte-identical to the pinned ones (37 maps: ties, thresholds, degenerate; every preset; 1 and 2 workers)', async () => {
  const fixture = new URL('../../../test/scoring/fixtures/score-regression.json', import.meta.url);
  const expected = JSON.parse(await readFile(fixture, 'utf8')) as Record<string, string>;
  const actual = await regressionHashes(await mkdtemp(join(tmpdir(), 'fiveband-regression-')));
  assert.deepEqual(actual, expected);
});
