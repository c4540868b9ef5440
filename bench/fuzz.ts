// `npm run fuzz`: every reader of user files against FUZZ_CASES (default 10,000) mutated inputs, then every CLI
// command against FUZZ_CLI_CASES (default 100; a process each) mutated invocations, seeded (FUZZ_SEED, default 1)
// so a failure replays. FUZZ_ONLY=readers|cli runs one part, FUZZ_COMMANDS=a,b some commands. Prints the outcome counts; exits 1 on any failure.
import { rm } from 'node:fs/promises';
import fc from 'fast-check';
import { useCpu } from '../test/nn/helpers.js';
import { fuzzTargets, mutated, outcomeOf, type Outcome } from '../test/fuzz/readers.js';
import { caseLimitMs, CLI_COMMANDS, cliCases, cliFixtures, runCase, scratchFolder, type CliOutcome } from '../test/fuzz/cli.js';

const cases = Number(process.env.FUZZ_CASES ?? 10_000);
const cliCount = Number(process.env.FUZZ_CLI_CASES ?? 100);
const seed = Number(process.env.FUZZ_SEED ?? 1);
const only = process.env.FUZZ_ONLY;
await useCpu();
let failures = 0;
if (only !== 'cli') console.log(`fuzzing every reader with ${cases} mutated inputs each, seed ${seed}, node ${process.version}`);
for (const target of only === 'cli' ? [] : await fuzzTargets()) {
  const counts: Record<Outcome, number> = { ok: 0, 'user error': 0, crash: 0, hang: 0 };
  const t0 = performance.now();
  let first: string | undefined;
  for (const bytes of fc.sample(mutated(target.seeds), { numRuns: cases, seed })) {
    const { outcome, detail } = await outcomeOf(target, bytes);
    counts[outcome]++;
    if ((outcome === 'crash' || outcome === 'hang') && first === undefined) first = `${outcome}: ${detail ?? ''} (input of ${bytes.length} bytes: ${Buffer.from(bytes.subarray(0, 200)).toString('latin1')})`;
  }
  failures += counts.crash + counts.hang;
  console.log(`  ${target.name.padEnd(52)} ${cases} cases: ${String(counts.ok).padStart(5)} read, ${String(counts['user error']).padStart(5)} one-line errors, ` +
    `${counts.crash} crashes, ${counts.hang} hangs, 0 partial outputs (readers write nothing); ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (first) console.log(`    first failure: ${first}`);
}

if (only !== 'readers') {
  console.log(`fuzzing every command with ${cliCount} mutated invocations each (a process each, 2 at once, 30 s limit, start 10 s), seed ${seed}`);
  const fixtures = await cliFixtures();
  const scratch = await scratchFolder();
  for (const command of CLI_COMMANDS.filter((c) => !process.env.FUZZ_COMMANDS || process.env.FUZZ_COMMANDS.split(',').includes(c))) {
    const counts: Record<CliOutcome, number> = { ok: 0, 'user error': 0, 'long job': 0, crash: 0, hang: 0, leftover: 0, nan: 0 };
    const t0 = performance.now();
    const pending = fc.sample(cliCases(command), { numRuns: cliCount, seed });
    const firsts: string[] = [];
    const worker = async () => {
      for (let c = pending.shift(); c; c = pending.shift()) {
        const { outcome, detail } = await runCase(fixtures, scratch, c, caseLimitMs(command));
        counts[outcome]++;
        if (!['ok', 'user error', 'long job'].includes(outcome) && firsts.length < 3) firsts.push(`${outcome}: ${detail}`);
      }
    };
    await Promise.all([worker(), worker()]);
    failures += counts.crash + counts.hang + counts.leftover + counts.nan;
    console.log(`  ${command.padEnd(11)} ${cliCount} cases: ${String(counts.ok).padStart(4)} ok, ${String(counts['user error']).padStart(4)} one-line errors, ` +
      `${counts['long job']} long jobs stopped, ${counts.crash} crashes, ${counts.hang} hangs, ${counts.leftover} leftovers, ${counts.nan} NaN outputs; ` +
      `${((performance.now() - t0) / 1000).toFixed(1)} s`);
    for (const f of firsts) console.log(`    ${f}`);
  }
  await Promise.all([fixtures, scratch].map((d) => rm(d, { recursive: true, force: true })));
}
process.exit(failures > 0 ? 1 : 0);
