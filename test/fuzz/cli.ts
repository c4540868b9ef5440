// Fuzz cases for the command line: every command's flags, read from the program itself (a new flag is fuzzed
// without touching this file). A case starts from a small valid invocation on tiny fixtures (so valid runs stay
// short) and applies one to three mutations: a flag set to a good or a bad value, a flag dropped, repeated, left without
// its value, an unknown flag, a stray argument. Each case runs the real CLI in its own process and folder.
// The property: exit 0 with no NaN in the CSV/JSON outputs, or exit 2 with the error as one last line; never
// another exit code, a stack trace, a temporary file left behind, a changed input after a failure, or a hang.
import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import type { Option } from 'commander';
import { buildProgram } from '../../src/cli/program.js';
import { filesUnder, hashesOf } from '../helpers/files.js';
import { generateDataset } from '../../src/data/index.js';
import { encodeNpy } from '../../src/io/index.js';
import { createModel, saveModel } from '../../src/nn/index.js';
import { Rng } from '../../src/rng/index.js';

const BIN = fileURLToPath(new URL('../../../bin/fiveband.js', import.meta.url));

/**
 * The commands fuzzed, each with its small valid invocation (paths relative to the case folder, which holds a
 * copy of the fixtures). pack-weights is left out: it writes into the package's own weights/ folder.
 */
export const BASE_ARGV: Record<string, string[]> = {
  generate: ['--out', 'out', '--size', '64', '--shards', '1/1/1', '--per-shard', '2', '--workers', '1'],
  show: ['data', '--count', '2'],
  start: ['--out', 'out', '--workers', '1'],
  study: ['--profile', 'quick', '--out', 'out', '--archs', 'resnet34', '--methods', 'Saliency', '--test-samples', '2', '--workers', '1'],
  models: ['--arch', 'resnet34', '--size', '64', '--width', '0.25'],
  train: ['--arch', 'resnet34', '--data', 'data', '--out', 'out', '--size', '32', '--width', '0.0625', '--epochs', '1', '--threads', '1'],
  'eval-model': ['--model', 'model', '--data', 'data'],
  score: ['--heatmaps', 'heat.npy', '--data', 'data', '--out', 'out', '--workers', '1'],
  explain: ['--model', 'model', '--data', 'data', '--out', 'out', '--methods', 'Saliency', '--workers', '1'],
  sanity: ['--model', 'model', '--data', 'data', '--out', 'out', '--methods', 'Saliency', '--limit', '2', '--points', '2'],
  conditioning: ['--model', 'model', '--data', 'data', '--out', 'out', '--methods', 'Saliency', '--limit', '2'],
  report: ['scored', '--out', 'rep'],
  doctor: [],
  // No Redis listens on port 1: every valid case ends in the one-line "cannot reach Redis" (exit 2).
  worker: ['--queue', 'redis://127.0.0.1:1', '--concurrency', '1'],
  queue: ['status', '--queue', 'redis://127.0.0.1:1'],
};

/** Values that keep a run valid and short, by flag name; flags not listed take their choices or small numbers. */
const GOOD: Record<string, string[]> = {
  out: ['out', 'out2/nested'], data: ['data'], model: ['model'], heatmaps: ['heat.npy', 'Saliency=heat.npy'], truth: ['truth.npy'],
  labels: ['labels.csv'], ids: ['ids.txt'], config: ['study.json'], queue: ['redis://127.0.0.1:1', 'redis://127.0.0.1:1/2'], lease: ['1', '30'],
  'task-timeout': ['60'], arch: ['resnet34', 'spa', 'alexnet'], profile: ['small', 'quick'],
  size: ['64'], width: ['0.0625', '0.25'], shards: ['1/1/1', '0/0/1'], 'per-shard': ['1', '2'], split: ['test', 'val'],
  methods: ['Saliency', 'Saliency,InputXGradient', 'Deconvolution'], archs: ['resnet34'], 'test-samples': ['1', '2'],
  lr: ['0.001', '1e-4'], start: ['-0.5,-0.3,0.3,0.5'], clamp: ['-0.1,0.1'], step: ['0.05'], steps: ['2', '3'],
  shard: ['test/0', 'all'], layer: ['conv1'], depth: ['1', '2'], 'block-init': ['kaiming', 'pytorch'], limit: ['2'], points: ['2', '3'],
};
const SMALL_NUMBERS = ['1', '2'];
/** What a hurried, confused or hostile user types. */
const BAD = [
  '-1', '0', '1.5', '1e99', '99999999999999999999', 'NaN', 'Infinity', '-0', '0x10', ' 3', '3 ', '1,2', 'abc', '', ' ', '-', '--',
  '../../..', '/proc/self/mem', '/dev/null', '/nonexistent/x', 'out/../../x', 'a'.repeat(300), '∞', 'data', 'model', 'heat.npy',
  'labels.csv', 'study.json', 'mab', 'all', 'none', 'paper', 'cpu', 'quick', 'Saliency,Saliency', 'metrics', 'summary.json',
];

export interface CliCase { command: string; argv: string[] }

function optionName(option: Option): string {
  return (option.long ?? option.short ?? '').replace(/^--?/, '');
}

/** The flags of a command (help excluded), as commander declares them; of its sub-command BASE_ARGV names first, if it has some. */
function flagsOf(command: string): Option[] {
  const top = buildProgram().commands.find((c) => c.name() === command);
  const cmd = top && top.commands.length > 0 ? top.commands.find((c) => c.name() === BASE_ARGV[command]![0]) : top;
  if (!cmd) throw new Error(`no command ${command}`);
  return cmd.options.filter((o) => o.long !== '--help');
}

function valuesFor(option: Option): fc.Arbitrary<string> {
  const name = optionName(option);
  const good = GOOD[name] ?? option.argChoices ?? SMALL_NUMBERS;
  return fc.oneof(fc.constantFrom(...good), fc.constantFrom(...BAD));
}

/** Removes a flag and its value(s) from argv. */
function withoutFlag(argv: string[], flag: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === flag) {
      while (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) i++;
      continue;
    }
    out.push(argv[i]!);
  }
  return out;
}

type Mutation = (argv: string[]) => string[];

/** Cases for one command: its valid invocation with one to three mutations. */
export function cliCases(command: string): fc.Arbitrary<CliCase> {
  const flags = flagsOf(command);
  const base = BASE_ARGV[command]!;
  const takesValue = (o: Option) => o.required || o.optional;
  const set: fc.Arbitrary<Mutation> = fc.constantFrom(...flags).chain((o) => {
    const flag = o.long ?? o.short!;
    if (!takesValue(o)) return fc.constant((argv: string[]) => [...withoutFlag(argv, flag), flag]);
    return fc.tuple(valuesFor(o), fc.boolean()).map(([value, inline]) => (argv: string[]) =>
      [...withoutFlag(argv, flag), ...(inline ? [`${flag}=${value}`] : [flag, value])]);
  });
  const given = base.filter((a) => a.startsWith('--'));
  const valued = flags.filter(takesValue);
  // A command without flags given (doctor) or taking values has no drop, repeat or dangling cases.
  const drop: fc.Arbitrary<Mutation>[] = given.length === 0 ? [] : [fc.constantFrom(...given).map((flag) => (argv: string[]) => withoutFlag(argv, flag))];
  const withValues: fc.Arbitrary<Mutation>[] = valued.length === 0 ? [] : [
    fc.tuple(fc.constantFrom(...valued), fc.constantFrom(...BAD)).map(([o, value]) => (argv: string[]) => [...argv, o.long!, value]),
    fc.constantFrom(...valued).map((o) => (argv: string[]) => [...argv, o.long!]),
  ];
  const unknown: fc.Arbitrary<Mutation> = fc.constantFrom('--bogus', '-x', '--out-dir', '--', '-').map((flag) => (argv: string[]) => [...argv, flag]);
  const stray: fc.Arbitrary<Mutation> = fc.constantFrom('junk', 'data', '', '--help', 'help').map((word) => (argv: string[]) => [...argv, word]);
  const mutation = fc.oneof({ weight: 6, arbitrary: set }, ...drop, ...withValues, unknown, stray);
  return fc.array(mutation, { minLength: 1, maxLength: 3 }).map((ms) => ({ command, argv: ms.reduce((argv, m) => m(argv), [...base]) }));
}

/** Tiny inputs every case gets a private copy of: a dataset, a model, heatmaps, labels, ids, a study config, scores. */
export async function cliFixtures(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'fiveband-cli-fuzz-'));
  await generateDataset({ out: join(root, 'data'), size: 64, seed: 1, shards: { train: 1, val: 1, test: 1 }, perShard: 2, workers: 1 });
  const model = createModel({ arch: 'spa', inputSize: 48, numClasses: 10, width: 0.05 }, 1);
  await saveModel(join(root, 'model'), model);
  model.dispose();
  const rng = Rng.derive(1, 'cli-fuzz');
  const heat = new Float32Array(2 * 3 * 64 * 64).map(() => rng.next() - 0.5);
  await writeFile(join(root, 'heat.npy'), encodeNpy(heat, [2, 3, 64, 64]));
  const truth = new Float32Array(2 * 64 * 64).map((_, i) => [0, 0.4, 0.9][(i >> 5) % 3]!);
  await writeFile(join(root, 'truth.npy'), encodeNpy(truth, [2, 64, 64]));
  await writeFile(join(root, 'labels.csv'), 'y0,y_pred\n1,1\n2,3\n');
  await writeFile(join(root, 'ids.txt'), 'a\nb\n');
  await writeFile(join(root, 'study.json'), JSON.stringify({
    format: 'fiveband-study/1', profile: 'quick', seed: 0, backend: 'wasm',
    dataset: { size: 64, classes: 10, shards: { train: 1, val: 1, test: 1 }, perShard: 2 },
    archs: ['resnet34'], methods: ['Saliency'], branches: 1, depths: [], trainProfile: 'small',
    hyper: { resnet34: { epochs: 1, branchEpochs: 1, width: 0.0625, inputSize: 32 } }, pretrained: null, explainBatch: 2,
  }));
  const scored = await runCli(root, ['score', '--heatmaps', 'heat.npy', '--data', 'data', '--out', 'scored', '--workers', '1'], 60_000);
  if (scored.code !== 0) throw new Error(`fixture scores: ${scored.stderr}`);
  return root;
}

interface Run { code: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean; quietForMs: number }

/** Runs the CLI in `cwd`; past `limitMs` it is killed (SIGKILL, worker threads and all). */
function runCli(cwd: string, argv: string[], limitMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...argv], { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FORCE_COLOR: '0' } });
    let stdout = '';
    let stderr = '';
    let lastOutput = performance.now();
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); lastOutput = performance.now(); });
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); lastOutput = performance.now(); });
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, limitMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut, quietForMs: performance.now() - lastOutput });
    });
  });
}

/**
 * ok: exit 0 and clean outputs; user error: exit 2, one error line; long job: still running and reporting progress
 * at the limit (valid input that starts real work); the rest are failures: crash (other exit, a stack trace, a
 * multi-line error), hang (silent past the limit), leftover (a temp file, or an input changed by a failed run),
 * nan (a NaN in a CSV/JSON output).
 */
export type CliOutcome = 'ok' | 'user error' | 'long job' | 'crash' | 'hang' | 'leftover' | 'nan';

/** Runs one case in its own copy of the fixtures, judges it, and removes the copy (a bench runs thousands). */
export async function runCase(fixtures: string, scratch: string, c: CliCase, limitMs: number): Promise<{ outcome: CliOutcome; detail: string }> {
  const dir = await mkdtemp(join(scratch, `${c.command}-`));
  try {
    await cp(fixtures, dir, { recursive: true });
    return await judgeCase(dir, c, limitMs);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function judgeCase(dir: string, c: CliCase, limitMs: number): Promise<{ outcome: CliOutcome; detail: string }> {
  const before = await hashesOf(dir);
  const startedAt = Date.now();
  const run = await runCli(dir, [c.command, ...c.argv], limitMs);
  const shown = `fiveband ${c.command} ${c.argv.map((a) => JSON.stringify(a)).join(' ')}`;
  const detail = (why: string) => `${why}\n  ${shown}\n  exit ${run.code} ${run.signal ?? ''}\n  stderr: ${run.stderr.slice(-2000)}`;
  if (run.timedOut) {
    // Progress lines come at least every few seconds while a valid long job works (a slow task may stay quiet longer).
    return run.quietForMs < Math.max(10_000, limitMs / 2) ? { outcome: 'long job', detail: shown } : { outcome: 'hang', detail: detail(`silent for ${Math.round(run.quietForMs)} ms at the limit`) };
  }
  if (/^\s+at \S/m.test(run.stderr) || /^\S*Error\b/m.test(run.stderr)) return { outcome: 'crash', detail: detail('stack trace') };
  const files = (await filesUnder(dir)).map((f) => join(dir, f));
  const temp = files.find((f) => /\.tmp-\d+-[0-9a-f]{8}$/.test(f));
  if (temp) return { outcome: 'leftover', detail: detail(`temporary file left: ${relative(dir, temp)}`) };
  if (run.code === 2) {
    const lines = run.stderr.trimEnd().split('\n');
    if (!lines.at(-1)!.startsWith('fiveband: ') || lines.at(-1)!.length > 2000) return { outcome: 'crash', detail: detail('the error is not one fiveband line') };
    const after = await hashesOf(dir);
    for (const [file, hash] of Object.entries(before)) {
      if (after[file] !== hash) return { outcome: 'leftover', detail: detail(`a failed run changed ${file}`) };
    }
    return { outcome: 'user error', detail: shown };
  }
  if (run.code !== 0) return { outcome: 'crash', detail: detail('exit code') };
  for (const file of files) {
    if (!/\.(csv|json)$/.test(file) || (await stat(file)).mtimeMs < startedAt - 1000) continue;
    if (/(^|[,:\s\[])(nan|NaN|-?Infinity|-?inf)([,\s\]}]|$)/m.test(await readFile(file, 'utf8'))) return { outcome: 'nan', detail: detail(`NaN in ${relative(dir, file)}`) };
  }
  return { outcome: 'ok', detail: shown };
}

/** The commands fuzzed, in a stable order. */
export const CLI_COMMANDS = Object.keys(BASE_ARGV);

/** Time a case may run: `start` is the whole quick study (minutes), so a valid one is stopped early as a long job. */
export function caseLimitMs(command: string): number {
  return command === 'start' ? 10_000 : 30_000;
}

export async function scratchFolder(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'fiveband-cli-cases-'));
}
