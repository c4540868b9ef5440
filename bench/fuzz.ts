// `npm run fuzz`: every reader of user files against FUZZ_CASES (default 10,000) mutated inputs, seeded
// (FUZZ_SEED, default 1) so a failure replays. Prints the outcome counts per reader; exits 1 on any crash or hang.
import fc from 'fast-check';
import { useCpu } from '../test/nn/helpers.js';
import { fuzzTargets, mutated, outcomeOf, type Outcome } from '../test/fuzz/readers.js';

const cases = Number(process.env.FUZZ_CASES ?? 10_000);
const seed = Number(process.env.FUZZ_SEED ?? 1);
await useCpu();
console.log(`fuzzing every reader with ${cases} mutated inputs each, seed ${seed}, node ${process.version}`);
let failures = 0;
for (const target of await fuzzTargets()) {
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
process.exit(failures > 0 ? 1 : 0);
