import type { Command } from 'commander';
import { ensure } from '../io/index.js';
import { BACKEND_CHOICES, type BackendChoice, type BackendName } from '../nn/names.js';

// Option parsers shared by the commands: each turns an option's text into a value or a one-line UserError naming the option.

/** A whole number >= min. */
export function parseCount(name: string, min: number): (text: string) => number {
  return (text: string) => {
    ensure(/^-?\d+$/.test(text.trim()), `${name} must be a whole number, got "${text}"`);
    const value = Number(text);
    ensure(Number.isSafeInteger(value) && value >= min, `${name} must be an integer >= ${min}, got ${value}`);
    return value;
  };
}

/** One of `choices`, exactly. */
export function parseChoice<T extends string>(name: string, choices: readonly T[]): (text: string) => T {
  return (text) => {
    ensure((choices as readonly string[]).includes(text), `${name} must be one of ${choices.join(', ')}, got "${text}"`);
    return text as T;
  };
}

/** A finite number > 0 (or >= 0 with `allowZero`). */
export function parsePositive(name: string, allowZero = false): (text: string) => number {
  return (text) => {
    const value = Number(text);
    ensure(text.trim() !== '' && Number.isFinite(value) && (allowZero ? value >= 0 : value > 0),
      `${name} must be a number ${allowZero ? '>= 0' : '> 0'}, got "${text}"`);
    return value;
  };
}

/** Adds the --backend option every computing command takes (its default is resolved by startBackend). */
export function backendOption(command: Command, defaultHelp = 'auto = native when its addon is built and passes its self-test, else wasm'): Command {
  return command.option('--backend <name>', `compute backend: ${BACKEND_CHOICES.join(', ')} (default: $FIVEBAND_BACKEND, else ${defaultHelp})`,
    parseChoice('--backend', BACKEND_CHOICES));
}

/** The backend --backend names (else FIVEBAND_BACKEND, else auto), started; auto resolved to the backend in use. */
export async function startBackend(choice: BackendChoice | undefined): Promise<BackendName> {
  const fromEnv = process.env.FIVEBAND_BACKEND;
  if (choice === undefined && fromEnv) parseChoice('FIVEBAND_BACKEND', BACKEND_CHOICES)(fromEnv);
  const { chooseBackend } = await import('../compute/index.js');
  return chooseBackend(choice ?? ((fromEnv || 'auto') as BackendChoice));
}

/**
 * The backend in use, for a command's closing lines: "backend: native (oneDNN 2.6.3, avx512_core, 2 threads)";
 * with `workers`, the work ran on that many worker threads of one thread each.
 */
export async function backendLine(workers?: number): Promise<string> {
  const { backendInfo } = await import('../compute/index.js');
  const info = await backendInfo();
  const threads = workers === undefined ? `${info.threads} thread${info.threads === 1 ? '' : 's'}` : `${workers} worker thread${workers === 1 ? '' : 's'} of 1 thread`;
  const detail = [info.library, info.isa, info.simd ? 'SIMD' : undefined, threads];
  return `backend: ${info.name} (${detail.filter((d) => d !== undefined).join(', ')})`;
}
