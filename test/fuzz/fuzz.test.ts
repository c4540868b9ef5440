import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { useCpu } from '../nn/helpers.js';
import { fuzzTargets, mutated, outcomeOf } from './readers.js';

await useCpu();
const targets = await fuzzTargets();

// A short seeded run per reader (npm run fuzz runs 10,000 cases each); a failure prints its seed and path to replay.
for (const target of targets) {
  test(`fuzz ${target.name}: mutated files give a result or one line, never a crash or a hang`, async () => {
    await fc.assert(fc.asyncProperty(mutated(target.seeds), async (bytes) => {
      const { outcome, detail } = await outcomeOf(target, bytes);
      assert.ok(outcome === 'ok' || outcome === 'user error', `${outcome}: ${detail ?? ''}`);
    }), { seed: 20261206, numRuns: 150 });
    for (const seed of target.seeds) assert.equal((await outcomeOf(target, seed)).outcome, 'ok', 'the unmutated file reads');
  });
}
