import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fiveband } from '../helpers/cli.js';


/** The last non-empty stderr line (tfjs prints a banner before it). */
function errorLine(stderr: string): string {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('====') && !l.startsWith('Hi, looks like'));
  assert.equal(lines.length, 1, `one error line expected, got:\n${stderr}`);
  return lines[0]!;
}

let root: string;
let data: string;
let data3: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fiveband-train-cli-'));
  data = join(root, 'ds');
  data3 = join(root, 'ds3');
  for (const [out, classes] of [[data, '10'], [data3, '3']] as const) {
    const r = fiveband('generate', '--out', out, '--size', '64', '--shards', '1/1/1', '--per-shard', '6', '--classes', classes, '--workers', '1');
    assert.equal(r.code, 0, r.stderr);
  }
});
after(() => rm(root, { recursive: true, force: true }));

describe('fiveband train / eval-model', () => {
  it('trains, evaluates, and writes the model, curves, summary and evaluation JSON', async () => {
    const out = join(root, 'alex');
    const t = fiveband('train', '--arch', 'alexnet', '--data', data, '--out', out, '--size', '64', '--width', '0.1', '--epochs', '2', '--batch', '4');
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /trained alexnet \(continuous, input 64, width 0.1\)/);
    assert.match(t.stdout, /2 epochs, 4 iterations/);
    for (const f of ['weights.safetensors', 'arch.json', 'curves.csv', 'summary.json']) assert.ok(existsSync(join(out, f)), f);
    assert.ok(!existsSync(join(out, 'checkpoint.safetensors')));
    // the small profile's decay (its last 2 of 10 epochs) stays at the end of a 2-epoch run
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    assert.equal(summary.hyper.lrDecayEpoch, 0);
    // The backend in use (auto's choice) is printed and recorded.
    const printed = /^backend: (native|wasm|cpu) \(.*threads?\)$/m.exec(t.stdout);
    assert.ok(printed, t.stdout);
    assert.equal(summary.backend, printed[1]);
    // tfjs's banner ("install tfjs-node") is off on every backend, the cpu-derived native included
    assert.doesNotMatch(t.stdout + t.stderr, /tfjs-node/);
    const e = fiveband('eval-model', '--model', out, '--data', data, '--backend', 'cpu');
    assert.equal(e.code, 0, e.stderr);
    assert.match(e.stdout, /^backend: cpu \(1 thread\)$/m);
    assert.doesNotMatch(e.stdout + e.stderr, /tfjs-node/);
    const result = JSON.parse(await readFile(join(out, 'eval-test.json'), 'utf8'));
    assert.equal(result.total, 6);
    assert.equal(result.confusion.flat().reduce((a: number, b: number) => a + b, 0), 6);
    assert.equal(result.correct, result.confusion.reduce((s: number, row: number[], i: number) => s + row[i]!, 0));
    assert.match(e.stdout, new RegExp(`test accuracy ${(100 * result.accuracy).toFixed(2)}% \\(${result.correct}/6\\)`));
    // a finished run is not retrained
    const again = fiveband('train', '--arch', 'alexnet', '--data', data, '--out', out, '--size', '64', '--width', '0.1', '--epochs', '2', '--batch', '4');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(JSON.parse(await readFile(join(out, 'summary.json'), 'utf8')).iterations, 4);
  });

  it('--micro-batches with 1 or 2 --threads: the same weights, byte for byte', async () => {
    const run = (threads: string) => {
      const out = join(root, `micro-${threads}`);
      const r = fiveband('train', '--arch', 'alexnet', '--data', data, '--out', out, '--size', '64', '--width', '0.1', '--epochs', '1',
        '--batch', '4', '--micro-batches', '2', '--threads', threads);
      assert.equal(r.code, 0, r.stderr);
      return readFile(join(out, 'weights.safetensors'));
    };
    assert.ok((await run('1')).equals(await run('2')));
    const summary = JSON.parse(await readFile(join(root, 'micro-2', 'summary.json'), 'utf8'));
    assert.equal(summary.hyper.microBatches, 2);
  });

  it('branches mode (base + branches from saved weights) and mab mode run end to end', async () => {
    const out = join(root, 'branches');
    const b = fiveband('train', '--arch', 'alexnet', '--data', data, '--out', out, '--mode', 'branches', '--size', '64', '--width', '0.1',
      '--base-epochs', '1', '--epochs', '2', '--batch', '2', '--branches', '2', '--backend', 'cpu');
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stdout, /branch 1: total validation/);
    const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
    assert.deepEqual(summary.branches.map((x: { branch: number }) => x.branch), [1, 2]);
    for (const branch of summary.branches) {
      assert.equal(branch.startIteration, 3);
      assert.ok(existsSync(join(out, `branch-${branch.branch}`, 'weights.safetensors')));
    }
    const m = join(root, 'mab');
    const r = fiveband('train', '--arch', 'spa', '--data', data3, '--out', m, '--epochs', '2', '--batch', '3');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /trained spa \(mab, input 64, width 1\)/);
    const mab = JSON.parse(await readFile(join(m, 'summary.json'), 'utf8'));
    assert.equal(mab.mode, 'mab');
    assert.equal(mab.hyper.lambda, 5);
    assert.ok(existsSync(join(m, 'validation.csv')));
  });

  it('bad arguments and mismatched data: one line on stderr, exit code 2', async () => {
    const alex = join(root, 'alex');
    const cases: Array<[string[], RegExp]> = [
      [['train', '--arch', 'lenet', '--data', data, '--out', join(root, 'x')], /--arch must be one of/],
      [['train', '--arch', 'spa', '--data', data, '--out', join(root, 'x'), '--size', '128'], /--size 128 is larger than the data's 64×64/],
      [['train', '--arch', 'spa', '--data', data, '--out', join(root, 'x'), '--classes', '3'], /has 10 classes, --classes asks for 3/],
      [['train', '--arch', 'alexnet', '--data', data, '--out', join(root, 'x'), '--mode', 'mab'], /--mode mab needs the spa model/],
      [['train', '--arch', 'alexnet', '--data', data, '--out', join(root, 'x'), '--lr', 'fast'], /--lr must be a number > 0/],
      [['train', '--arch', 'alexnet', '--data', data, '--out', join(root, 'x'), '--lr-warmup', '-3'], /--lr-warmup must be an integer >= 0/],
      [['train', '--arch', 'alexnet', '--data', join(root, 'missing'), '--out', join(root, 'x')], /missing/],
      [['train', '--arch', 'alexnet', '--data', data, '--out', join(root, 'x'), '--backend', 'gpu'], /--backend must be one of auto, native, wasm, cpu/],
      [['train', '--arch', 'alexnet', '--data', data, '--out', join(root, 'x'), '--micro-batches', '0'], /--micro-batches/],
      [['train', '--arch', 'alexnet', '--data', data, '--out', join(root, 'x'), '--threads', 'many'], /--threads/],
      [['eval-model', '--model', alex, '--data', data3], /classifies 10 classes, .* has 3/],
      [['eval-model', '--model', join(root, 'nothing'), '--data', data], /nothing/],
      [['eval-model', '--model', alex, '--data', data, '--split', 'holdout'], /--split must be one of train, val, test/],
    ];
    for (const [args, pattern] of cases) {
      const r = fiveband(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`);
      assert.match(errorLine(r.stderr), pattern);
    }
    assert.ok(!existsSync(join(root, 'x')));
  });
});
