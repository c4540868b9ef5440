import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { test } from 'node:test';
import fc from 'fast-check';
import { useCpu } from '../nn/helpers.js';
import { fuzzTargets, mutated, outcomeOf } from './readers.js';
import { buildProgram } from '../../src/cli/program.js';
import { caseLimitMs, CLI_COMMANDS, cliCases, cliFixtures, runCase, scratchFolder } from './cli.js';

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

test('every command but pack-weights (it writes into the package) is fuzzed', () => {
  assert.deepEqual(buildProgram().commands.map((c) => c.name()).filter((n) => n !== 'pack-weights').sort(), [...CLI_COMMANDS].sort());
});

// Every command's flags, one seeded case each (npm run fuzz runs 100 each); a process per case.
test('fuzz the command line: mutated invocations exit 0 with clean outputs or 2 with one line, nothing left behind', async () => {
  const fixtures = await cliFixtures();
  const scratch = await scratchFolder();
  const failures: string[] = [];
  const pending = CLI_COMMANDS.flatMap((command) => fc.sample(cliCases(command), { numRuns: 1, seed: 20261206 }));
  const lane = async () => {
    for (let c = pending.shift(); c; c = pending.shift()) {
      // start is the whole quick study: a valid case is stopped after 3 s here (a long job), as a bench would after 10.
      const { outcome, detail } = await runCase(fixtures, scratch, c, c.command === 'start' ? 3000 : caseLimitMs(c.command));
      if (!['ok', 'user error', 'long job'].includes(outcome)) failures.push(`${outcome}: ${detail}`);
    }
  };
  try {
    await Promise.all([lane(), lane()]);
  } finally {
    await Promise.all([fixtures, scratch].map((d) => rm(d, { recursive: true, force: true })));
  }
  assert.deepEqual(failures, []);
});
