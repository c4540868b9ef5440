import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runExample } from '../examples/library.js';

test('the README library example runs end to end and gives scores in [0, 1]', async () => {
  const out = join(await mkdtemp(join(tmpdir(), 'fiveband-example-')), 'data');
  const result = await runExample(out);
  assert.equal(result.n, 8);
  for (const v of [result.meanRecall, result.meanPrecision]) assert.ok(v >= 0 && v <= 1, String(v));
  const again = await runExample(join(out, '..', 'again'));
  assert.deepEqual(again, result, 'same seeds, same numbers');
});
