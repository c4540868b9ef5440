// Running the fiveband command line from tests.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../../bin/fiveband.js', import.meta.url));

/** Far longer than any one command of the suite takes on a slow machine: a hung command fails its test, not the run. */
export const CLI_TIMEOUT_MS = 300_000;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `fiveband …args` run to its end (or killed after CLI_TIMEOUT_MS, which stderr then says). */
export function fiveband(...args: string[]): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: CLI_TIMEOUT_MS });
  const stopped = r.error ? `\n(${r.error.message})` : r.signal ? `\n(killed by ${r.signal})` : '';
  return { code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + stopped };
}
