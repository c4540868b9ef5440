import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateDataset } from '../../src/data/index.js';
import { encodeNpy } from '../../src/io/index.js';
import { createModel, saveModel } from '../../src/nn/index.js';
import { Rng } from '../../src/rng/index.js';
import { filesUnder, hashesOf } from '../helpers/files.js';
import { useCpu } from '../nn/helpers.js';

// A disk that fills up half-way through each writing command (an injected ENOSPC, test/helpers/full-disk.ts):
// the command stops with one line and exit 2, leaves no temporary file and keeps the previous complete state;
// rerun on a disk with room, it finishes with the same bytes as a run that never failed.
const BIN = fileURLToPath(new URL('../../../bin/fiveband.js', import.meta.url));
const FULL_DISK = fileURLToPath(new URL('../helpers/full-disk.js', import.meta.url));

function fiveband(cwd: string, args: string[], diskBytes?: number) {
  const preload = diskBytes === undefined ? [] : ['--import', FULL_DISK];
  const env = { ...process.env, ...(diskBytes === undefined ? {} : { FIVEBAND_TEST_DISK_BYTES: String(diskBytes) }) };
  const r = spawnSync(process.execPath, [...preload, BIN, ...args], { cwd, env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stderr: r.stderr };
}

async function bytesUnder(dir: string): Promise<number> {
  let total = 0;
  for (const file of await filesUnder(dir)) total += (await stat(join(dir, file))).size;
  return total;
}

let inputs: string;
before(async () => {
  await useCpu();
  inputs = await mkdtemp(join(tmpdir(), 'fiveband-full-disk-'));
  await generateDataset({ out: join(inputs, 'data'), size: 64, seed: 2, shards: { train: 1, val: 1, test: 1 }, perShard: 4, workers: 1 });
  const model = createModel({ arch: 'spa', inputSize: 48, numClasses: 10, width: 0.05 }, 1);
  await saveModel(join(inputs, 'model'), model);
  model.dispose();
  const rng = Rng.derive(3, 'full-disk');
  await writeFile(join(inputs, 'heat.npy'), encodeNpy(new Float32Array(4 * 3 * 64 * 64).map(() => rng.next() - 0.5), [4, 3, 64, 64]));
});

interface Scenario {
  command: string;
  args: string[];
  out: string;
  /** The files whose bytes a finished run must reproduce (others hold timings). */
  compared: (file: string) => boolean;
}

const scenarios: Scenario[] = [
  {
    command: 'generate', out: 'd', compared: (f) => f.endsWith('.safetensors') || f === 'manifest.json',
    args: ['--out', 'd', '--size', '64', '--shards', '2/1/1', '--per-shard', '3', '--workers', '1'],
  },
  {
    command: 'train', out: 'm', compared: (f) => f.endsWith('weights.safetensors') || f.endsWith('curves.csv'),
    args: ['--arch', 'resnet34', '--data', 'data', '--out', 'm', '--size', '32', '--width', '0.0625', '--epochs', '1', '--batch', '2', '--threads', '1', '--checkpoint-every', '1'],
  },
  {
    command: 'explain', out: 'x', compared: (f) => f.endsWith('.safetensors') || f.endsWith('.csv'),
    args: ['--model', 'model', '--data', 'data', '--out', 'x', '--methods', 'Saliency,InputXGradient', '--batch', '2', '--workers', '1'],
  },
  {
    command: 'score', out: 's', compared: (f) => f.endsWith('.csv'),
    args: ['--heatmaps', 'heat.npy', '--data', 'data', '--out', 's', '--workers', '1'],
  },
];

describe('a disk that fills up', () => {
  for (const s of scenarios) {
    it(`${s.command}: one line and exit 2, no temporary file, previous state kept; the rerun finishes byte-identical`, async () => {
      const clean = await mkdtemp(join(tmpdir(), `fiveband-disk-${s.command}-`));
      await cp(inputs, clean, { recursive: true });
      const ok = fiveband(clean, [s.command, ...s.args]);
      assert.equal(ok.status, 0, ok.stderr);
      const expected = await hashesOf(join(clean, s.out), s.compared);
      assert.ok(Object.keys(expected).length > 0);
      const total = await bytesUnder(join(clean, s.out));
      // Early (before generate's manifest: a defect once) and half-way.
      for (const fraction of s.command === 'generate' ? [0.002, 0.4] : [0.4]) {
        const dir = await mkdtemp(join(tmpdir(), `fiveband-disk-${s.command}-`));
        await cp(inputs, dir, { recursive: true });
        const before = await hashesOf(dir, () => true);
        const full = fiveband(dir, [s.command, ...s.args], Math.round(total * fraction));
        const what = `${s.command} with ${Math.round(total * fraction)} of ${total} bytes of room`;
        assert.equal(full.status, 2, `${what}: ${full.stderr}`);
        const last = full.stderr.trimEnd().split('\n').at(-1)!;
        assert.match(last, /^fiveband: .*ENOSPC: no space left on device/, what);
        assert.doesNotMatch(full.stderr, /^\s+at /m, what);
        const files = await filesUnder(dir);
        assert.deepEqual(files.filter((f) => /\.tmp-\d+-[0-9a-f]{8}$/.test(f)), [], `${what}: temporary files left`);
        const after = await hashesOf(dir, (f) => f in before);
        assert.deepEqual(after, before, `${what}: an input changed`);
        // Every output file that is there is complete: resuming keeps it and finishes the same bytes.
        const again = fiveband(dir, [s.command, ...s.args]);
        assert.equal(again.status, 0, `${what}, rerun: ${again.stderr}`);
        assert.deepEqual(await hashesOf(join(dir, s.out), s.compared), expected, `${what}: the rerun differs from an uninterrupted run`);
      }
    });
  }

  it('score: a full disk keeps the previous complete outputs in place', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'fiveband-disk-score-'));
    await cp(inputs, dir, { recursive: true });
    const first = fiveband(dir, ['score', '--heatmaps', 'heat.npy', '--data', 'data', '--out', 's', '--workers', '1', '--setting', 'v1-clamp']);
    assert.equal(first.status, 0, first.stderr);
    const previous = await hashesOf(join(dir, 's'), () => true);
    const total = await bytesUnder(join(dir, 's'));
    const full = fiveband(dir, ['score', '--heatmaps', 'heat.npy', '--data', 'data', '--out', 's', '--workers', '1'], Math.round(total * 0.5));
    assert.equal(full.status, 2, full.stderr);
    assert.deepEqual(await hashesOf(join(dir, 's'), () => true), previous);
  });
});
