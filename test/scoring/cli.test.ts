import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { generateDataset, openDataset } from '../../src/data/index.js';
import { readNpy, writeNpy, writeSafetensors } from '../../src/io/index.js';
import { readHeatmaps } from '../../src/scoring/index.js';
import { Rng } from '../../src/rng/index.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const [N, H, W] = [5, 9, 7];

function fiveband(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['bin/fiveband.js', 'score', ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A temp folder with n heatmaps (3 channels, float32), ground truth 0/0.4/0.9 and the same as uint8 bands. */
async function fixture(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'fiveband-score-'));
  const rng = Rng.derive(5, 'cli-fixture');
  const bands = Uint8Array.from({ length: N * H * W }, () => rng.int(0, 3));
  const values = Float32Array.from(bands, (b) => [0, 0.4, 0.9][b]!);
  const heatmaps = Float32Array.from({ length: N * 3 * H * W }, (_, k) => {
    const i = Math.floor(k / (3 * H * W)) * H * W + (k % (H * W));
    return values[i]! + rng.normal(0, 0.3);
  });
  await writeNpy(join(dir, 'saliency.npy'), heatmaps, [N, 3, H, W]);
  await writeSafetensors(join(dir, 'deeplift.safetensors'), { attributions: { dtype: 'F32', shape: [N, 3, H, W], data: heatmaps.map((v) => v * 2 - 0.1) } });
  await writeNpy(join(dir, 'truth.npy'), values, [N, H, W]);
  await writeNpy(join(dir, 'bands.npy'), bands, [N, H, W]);
  await writeFile(join(dir, 'ids.txt'), ['a', 'b', 'c', 'd', 'e'].join('\n'));
  await writeFile(join(dir, 'labels.csv'), 'id,y0,y_pred\na,1,1\nb,2,3\nc,9,9\nd,0,0\ne,4,4\n');
  return dir;
}

test('score writes the V1, long, ROC, metrics CSVs and summary.json; bands and values give the same scores', async () => {
  const dir = await fixture();
  const out = join(dir, 'out');
  const r = fiveband('--heatmaps', join(dir, 'saliency.npy'), `DeepLift=${join(dir, 'deeplift.safetensors')}`, '--truth', join(dir, 'truth.npy'),
    '--ids', join(dir, 'ids.txt'), '--labels', join(dir, 'labels.csv'), '--out', out, '--workers', '1');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^method\s+n\s+Amu/);
  const v1 = (await readFile(join(out, 'saliency.csv'), 'utf8')).trimEnd().split('\n');
  assert.equal(v1[0], 'id,y0,y_pred,pred_is_correct,Amu,Au,Au1,Rmu,Ru,Ru1,Pmu,Pu,Pu1');
  assert.equal(v1.length, N + 1);
  assert.match(v1[2]!, /^b,2,3,0,0\.\d+,/); // pred_is_correct as the reference writes it: int(bool)
  const long = (await readFile(join(out, 'scores_long.csv'), 'utf8')).trimEnd().split('\n');
  assert.equal(long.length, 1 + 2 * N * 56);
  const roc = (await readFile(join(out, 'roc_DeepLift.csv'), 'utf8')).trimEnd().split('\n');
  assert.equal(roc[0], 'threshold_index,g0,g1,g2,g3,mean_recall,mean_FPR');
  assert.equal(roc.at(-1)!.split(',').slice(1, 5).join(','), '-0.22499999999999976,-0.024999999999999793,0.024999999999999793,0.22499999999999976');
  const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
  assert.deepEqual(Object.keys(summary.methods), ['saliency', 'DeepLift']);
  assert.equal(summary.methods.saliency.groups.correct.n, 4);
  assert.equal(summary.methods.saliency.groups.excluding_class_9.n, 4);

  const again = join(dir, 'again');
  const r2 = fiveband('--heatmaps', join(dir, 'saliency.npy'), `DeepLift=${join(dir, 'deeplift.safetensors')}`, '--truth', join(dir, 'bands.npy'),
    '--ids', join(dir, 'ids.txt'), '--labels', join(dir, 'labels.csv'), '--out', again, '--workers', '2');
  assert.equal(r2.status, 0, r2.stderr);
  for (const file of ['saliency.csv', 'roc_DeepLift.csv', 'scores_long.csv', 'metrics.csv', 'summary.json']) {
    assert.equal(await readFile(join(again, file), 'utf8'), await readFile(join(out, file), 'utf8'), file);
  }
});

test('--pandas-index writes the unnamed index column; ids default to 0 … n-1; labels are optional', async () => {
  const dir = await fixture();
  const out = join(dir, 'out');
  const r = fiveband('--heatmaps', join(dir, 'saliency.npy'), '--truth', join(dir, 'truth.npy'), '--out', out, '--pandas-index',
    '--setting', 'mab', '--metrics', 'none', '--no-long');
  assert.equal(r.status, 0, r.stderr);
  const v1 = (await readFile(join(out, 'saliency.csv'), 'utf8')).split('\n');
  assert.equal(v1[0], ',id,y0,y_pred,pred_is_correct,Amu,Au,Au1,Rmu,Ru,Ru1,Pmu,Pu,Pu1');
  assert.match(v1[1]!, /^0,0,,,,/);
  assert.match(v1[5]!, /^4,4,,,,/);
  assert.equal(existsSync(join(out, 'scores_long.csv')), false);
  assert.equal(existsSync(join(out, 'metrics.csv')), false);
});

const errorCases: Array<{ name: string; args: (dir: string) => Promise<string[]>; message: RegExp }> = [
  {
    name: 'count mismatch',
    args: async (dir) => {
      await writeNpy(join(dir, 'four.npy'), new Float32Array(4 * H * W), [4, H, W]);
      return ['--heatmaps', join(dir, 'four.npy'), '--truth', join(dir, 'truth.npy')];
    },
    message: /four\.npy: 4 heatmaps but 5 ground-truth maps/,
  },
  {
    name: 'shape mismatch',
    args: async (dir) => {
      await writeNpy(join(dir, 'wide.npy'), new Float32Array(N * H * (W + 1)), [N, H, W + 1]);
      return ['--heatmaps', join(dir, 'wide.npy'), '--truth', join(dir, 'truth.npy')];
    },
    message: /wide\.npy: heatmaps are 9×8 but the ground truth is 9×7/,
  },
  {
    name: 'NaN and Inf, named by sample id',
    args: async (dir) => {
      const data = new Float32Array(N * 3 * H * W);
      data[1 * 3 * H * W + 4] = NaN;
      data[3 * 3 * H * W + 2 * H * W] = Infinity;
      await writeNpy(join(dir, 'bad.npy'), data, [N, 3, H, W]);
      return ['--heatmaps', `Good=${join(dir, 'saliency.npy')}`, join(dir, 'bad.npy'), '--truth', join(dir, 'truth.npy'), '--ids', join(dir, 'ids.txt')];
    },
    message: /bad\.npy: NaN or Inf values in 2 heatmap\(s\), ids: b, d$/,
  },
  { name: 'unknown setting', args: async (dir) => ['--heatmaps', join(dir, 'saliency.npy'), '--truth', join(dir, 'truth.npy'), '--setting', 'v9'], message: /unknown score setting "v9"/ },
  { name: 'unknown metric', args: async (dir) => ['--heatmaps', join(dir, 'saliency.npy'), '--truth', join(dir, 'truth.npy'), '--metrics', 'auc'], message: /unknown metric "auc"/ },
  {
    name: 'custom sweep crossing zero',
    args: async (dir) => ['--heatmaps', join(dir, 'saliency.npy'), '--truth', join(dir, 'truth.npy'), '--steps', '80'],
    message: /threshold set 60 .* g0 < g1 < 0 < g2 < g3/,
  },
  { name: 'unreadable heatmap file', args: async (dir) => ['--heatmaps', join(dir, 'missing.npy'), '--truth', join(dir, 'truth.npy')], message: /missing\.npy: cannot read \(ENOENT\)/ },
  {
    name: 'corrupt ground-truth file',
    args: async (dir) => {
      await writeFile(join(dir, 'corrupt.npy'), 'not numpy');
      return ['--heatmaps', join(dir, 'saliency.npy'), '--truth', join(dir, 'corrupt.npy')];
    },
    message: /corrupt\.npy: not a readable \.npy file/,
  },
  {
    name: 'integer ground truth outside 0/1/2',
    args: async (dir) => {
      await writeNpy(join(dir, 'b3.npy'), new Uint8Array(N * H * W).fill(3), [N, H, W]);
      return ['--heatmaps', join(dir, 'saliency.npy'), '--truth', join(dir, 'b3.npy')];
    },
    message: /b3\.npy: integer ground truth must hold bands 0, 1, 2/,
  },
  {
    name: 'labels for other ids',
    args: async (dir) => {
      await writeFile(join(dir, 'wrong.csv'), 'id,y0,y_pred\na,1,1\nb,2,3\nx,9,9\nd,0,0\ne,4,4\n');
      return ['--heatmaps', join(dir, 'saliency.npy'), '--truth', join(dir, 'truth.npy'), '--ids', join(dir, 'ids.txt'), '--labels', join(dir, 'wrong.csv')];
    },
    message: /wrong\.csv: row 4 has id "x" where sample 2 is "c"/,
  },
  {
    name: 'output folder is a file',
    args: async (dir) => {
      await writeFile(join(dir, 'taken'), 'x');
      return ['--heatmaps', join(dir, 'saliency.npy'), '--truth', join(dir, 'truth.npy'), '--out', join(dir, 'taken', 'sub')];
    },
    message: /taken\/sub: cannot create the folder \(ENOTDIR: not a directory\)/,
  },
  { name: 'no ground truth', args: async (dir) => ['--heatmaps', join(dir, 'saliency.npy')], message: /ground truth/ },
  {
    name: '0×0 heatmaps',
    args: async (dir) => {
      await writeNpy(join(dir, 'empty.npy'), new Float32Array(0), [N, 3, 0, 0]);
      return ['--heatmaps', join(dir, 'empty.npy'), '--truth', join(dir, 'truth.npy')];
    },
    message: /empty\.npy: holds no heatmaps \(shape \[5, 3, 0, 0\]\)/,
  },
  {
    name: 'ground truth of 0 maps',
    args: async (dir) => {
      await writeNpy(join(dir, 'none.npy'), new Float32Array(0), [0, H, W]);
      return ['--heatmaps', join(dir, 'saliency.npy'), '--truth', join(dir, 'none.npy')];
    },
    message: /none\.npy: holds no ground-truth maps \(shape \[0, 9, 7\]\)/,
  },
  {
    // Node's recursive mkdir loops forever there (ENOENT at every level).
    name: 'an output folder under /proc',
    args: async (dir) => ['--heatmaps', join(dir, 'saliency.npy'), '--truth', join(dir, 'truth.npy'), '--out', '/proc/fiveband-test/out'],
    message: /\/proc\/fiveband-test\/out: cannot create the folder \(ENOENT: no such file or directory\)/,
  },
  {
    name: 'a method named like a fixed output file',
    args: async (dir) => ['--heatmaps', `metrics=${join(dir, 'saliency.npy')}`, '--truth', join(dir, 'truth.npy')],
    message: /method name "metrics" would overwrite metrics\.csv; name it with METHOD=PATH/,
  },
  {
    name: 'a method named like another method\'s ROC file',
    args: async (dir) => ['--heatmaps', `x=${join(dir, 'saliency.npy')}`, `roc_x=${join(dir, 'saliency.npy')}`, '--truth', join(dir, 'truth.npy')],
    message: /method name "roc_x" would overwrite the ROC file of method "x"/,
  },
  {
    name: 'an .npy header with a negative shape',
    args: async (dir) => ['--heatmaps', await editedNpy(dir, '(5, 3, 9, 7)', '(-5,3, 9, 7)'), '--truth', join(dir, 'truth.npy')],
    message: /edited\.npy: not a readable \.npy file \(bad shape \(-5,3, 9, 7\)\)/,
  },
  {
    name: 'an .npy header with a fractional shape',
    args: async (dir) => ['--heatmaps', await editedNpy(dir, '(5, 3, 9, 7)', '(5.5,3,9, 7)'), '--truth', join(dir, 'truth.npy')],
    message: /edited\.npy: not a readable \.npy file \(bad shape/,
  },
  {
    name: 'safetensors with a null __metadata__',
    args: async (dir) => ['--heatmaps', await rawSafetensors(dir, { __metadata__: null, h: { dtype: 'F32', shape: [N, 3, H, W], data_offsets: [0, N * 3 * H * W * 4] } }, N * 3 * H * W * 4), '--truth', join(dir, 'truth.npy')],
    message: /raw\.safetensors: not a valid safetensors file \(__metadata__ is not an object of strings\)/,
  },
  {
    name: 'safetensors naming a tensor twice',
    args: async (dir) => {
      const entry = `{"dtype":"F32","shape":[${N},3,${H},${W}],"data_offsets":[0,${N * 3 * H * W * 4}]}`;
      return ['--heatmaps', await rawSafetensors(dir, `{"heatmaps":${entry}, "heatmaps" :${entry}}`, N * 3 * H * W * 4), '--truth', join(dir, 'truth.npy')];
    },
    message: /raw\.safetensors: not a valid safetensors file \(header names "heatmaps" twice\)/,
  },
  {
    name: 'safetensors with overlapping tensors',
    args: async (dir) => ['--heatmaps', await rawSafetensors(dir, { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12), '--truth', join(dir, 'truth.npy')],
    message: /raw\.safetensors: not a valid safetensors file \(tensor b overlaps another tensor's data\)/,
  },
];

/** saliency.npy with `from` replaced by `to` (same length) in its header. */
async function editedNpy(dir: string, from: string, to: string): Promise<string> {
  const bytes = await readFile(join(dir, 'saliency.npy'));
  const header = bytes.subarray(0, 128).toString('latin1');
  assert.ok(header.includes(from) && from.length === to.length);
  const path = join(dir, 'edited.npy');
  await writeFile(path, Buffer.concat([Buffer.from(header.replace(from, to), 'latin1'), bytes.subarray(128)]));
  return path;
}

/** A safetensors file with this header (padded) and `dataBytes` zero bytes of data. */
async function rawSafetensors(dir: string, header: unknown, dataBytes: number): Promise<string> {
  let json = typeof header === 'string' ? header : JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(json.length));
  const path = join(dir, 'raw.safetensors');
  await writeFile(path, Buffer.concat([prefix, Buffer.from(json), Buffer.alloc(dataBytes)]));
  return path;
}

test('a second writer of the same output folder gets one line naming the first; nothing is written', async () => {
  const dir = await fixture();
  const out = join(dir, 'busy');
  await mkdir(out);
  await writeFile(join(out, '.fiveband.lock'), `${process.pid} ${hostname()}\n`); // this test runner: alive
  const r = fiveband('--heatmaps', join(dir, 'saliency.npy'), '--truth', join(dir, 'truth.npy'), '--out', out, '--workers', '1');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`busy is being written by another fiveband process \\(pid ${process.pid} on `));
  assert.deepEqual(await readdir(out), ['.fiveband.lock']);
});

test('a disk that fills up half-way through the outputs leaves the previous complete outputs and no temporary files', async (t) => {
  const dir = await fixture();
  const disk = join(dir, 'disk');
  await mkdir(disk);
  // A 96 KiB tmpfs: room for a small run's outputs, not for a long CSV of 60 heatmaps (needs root; skipped elsewhere).
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=96k', 'tmpfs', disk], { encoding: 'utf8' });
  if (mounted.status !== 0) {
    t.skip(`cannot mount a small tmpfs here (${(mounted.stderr || mounted.error?.message || '').trim().split('\n')[0]})`);
    return;
  }
  try {
    const out = join(disk, 'out');
    const first = fiveband('--heatmaps', `m=${join(dir, 'saliency.npy')}`, '--truth', join(dir, 'truth.npy'), '--out', out, '--workers', '1');
    assert.equal(first.status, 0, first.stderr);
    const before = new Map(await Promise.all((await readdir(out)).map(async (f) => [f, await readFile(join(out, f))] as const)));
    const rng = Rng.derive(9, 'full-disk');
    const many = 60;
    await writeNpy(join(dir, 'many.npy'), Float32Array.from({ length: many * 3 * H * W }, () => rng.normal(0, 1)), [many, 3, H, W]);
    await writeNpy(join(dir, 'many-truth.npy'), Float32Array.from({ length: many * H * W }, () => [0, 0.4, 0.9][rng.int(0, 3)]!), [many, H, W]);
    const full = fiveband('--heatmaps', `m=${join(dir, 'many.npy')}`, '--truth', join(dir, 'many-truth.npy'), '--out', out, '--workers', '1');
    assert.equal(full.status, 2, full.stderr);
    assert.match(full.stderr, /cannot write \(ENOSPC: no space left on device\)/);
    assert.deepEqual((await readdir(out)).sort(), [...before.keys()].sort(), 'no temporary or new files');
    for (const [f, bytes] of before) assert.ok(bytes.equals(await readFile(join(out, f))), `${f} unchanged`);
  } finally {
    spawnSync('umount', [disk]);
  }
});

test('a target that cannot be replaced (a folder named summary.json) fails before any output lands; no temporary files', async () => {
  const dir = await fixture();
  const out = join(dir, 'taken');
  await mkdir(join(out, 'summary.json'), { recursive: true });
  const r = fiveband('--heatmaps', join(dir, 'saliency.npy'), '--truth', join(dir, 'truth.npy'), '--out', out, '--workers', '1');
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /taken\/summary\.json: exists and is not a file; nothing was written/);
  assert.deepEqual(await readdir(out), ['summary.json']);
});

for (const c of errorCases) {
  test(`score fails with a one-line message and exit code 2, writing nothing: ${c.name}`, async () => {
    const dir = await fixture();
    const out = join(dir, 'out');
    const r = fiveband('--out', out, '--workers', '1', ...(await c.args(dir))); // a case's own --out wins
    assert.equal(r.status, 2, r.stderr);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('fiveband:'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, c.message);
    assert.equal(existsSync(out), false, 'nothing may be written');
  });
}

test('score --data reads the split\'s bands, ids and true classes; a labels file then needs only y_pred', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fiveband-score-data-'));
  const data = join(dir, 'cells');
  await generateDataset({ out: data, size: 64, seed: 2, shards: { train: 1, val: 1, test: 2 }, perShard: 3, workers: 1 });
  const dataset = await openDataset(data);
  const shards = [await dataset.readShard('test', 0), await dataset.readShard('test', 1)];
  const ids = shards.flatMap((s) => s.ids);
  const labels = shards.flatMap((s) => Array.from(s.labels));
  const bands = new Uint8Array(6 * 64 * 64);
  shards.forEach((s, k) => bands.set(s.bands, k * 3 * 64 * 64));
  // A "heatmap" equal to the ground-truth values scores perfectly at the first v1 threshold set when it is not
  // divided by its max (with the division, a sample without 0.9 pixels would have its 0.4 lifted to band 2).
  await writeNpy(join(dir, 'perfect.npy'), Float32Array.from(bands, (b) => [0, 0.4, 0.9][b]!), [6, 64, 64]);
  await writeFile(join(dir, 'labels.csv'), `y_pred\n${labels.map((y, i) => (i === 1 ? (y + 1) % 10 : y)).join('\n')}\n`);
  const out = join(dir, 'out');
  const r = fiveband('--heatmaps', join(dir, 'perfect.npy'), '--data', data, '--split', 'test', '--labels', join(dir, 'labels.csv'), '--out', out, '--workers', '1', '--no-normalise');
  assert.equal(r.status, 0, r.stderr);
  const rows = (await readFile(join(out, 'perfect.csv'), 'utf8')).trimEnd().split('\n').slice(1).map((line) => line.split(','));
  assert.deepEqual(rows.map((row) => row[0]), ids);
  assert.deepEqual(rows.map((row) => Number(row[1])), labels);
  assert.deepEqual(rows.map((row) => row[3]), ['1', '0', '1', '1', '1', '1']);
  for (const row of rows) assert.deepEqual([row[5], row[6]], ['1.0', '0'], 'best pixel accuracy of the ground truth itself');

  await writeFile(join(dir, 'bad-y0.csv'), `y0,y_pred\n${labels.map((y) => `${(y + 1) % 10},${y}`).join('\n')}\n`);
  const bad = fiveband('--heatmaps', join(dir, 'perfect.npy'), '--data', data, '--labels', join(dir, 'bad-y0.csv'), '--out', join(dir, 'bad'));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bad-y0\.csv: row 2 has y0 \d+ but the dataset labels sample "test\/shard-0000\/0" as \d+/);
  const split = fiveband('--heatmaps', join(dir, 'perfect.npy'), '--data', data, '--split', 'dev', '--out', join(dir, 'bad'));
  assert.equal(split.status, 2);
  assert.match(split.stderr, /unknown split "dev"/);
  const both = fiveband('--heatmaps', join(dir, 'perfect.npy'), '--data', data, '--truth', join(dir, 'perfect.npy'), '--out', join(dir, 'bad'));
  assert.equal(both.status, 2);
  assert.equal(existsSync(join(dir, 'bad')), false);
});

test('safetensors heatmaps carrying ids and classes in their metadata (as explain writes) fill y0 / y_pred; wrong ids fail', async () => {
  const dir = await fixture();
  const heatmaps = Float32Array.from({ length: N * 3 * H * W }, (_, i) => Math.sin(i));
  const metadata = (ids: string[]) => ({ ids: JSON.stringify(ids), labels: JSON.stringify([1, 2, 9, 0, 4]), predicted: JSON.stringify([1, 3, 9, 0, 5]) });
  await writeSafetensors(join(dir, 'explained.safetensors'), { attributions: { dtype: 'F32', shape: [N, 3, H, W], data: heatmaps } }, metadata(['a', 'b', 'c', 'd', 'e']));
  const out = join(dir, 'out');
  const r = fiveband('--heatmaps', join(dir, 'explained.safetensors'), '--truth', join(dir, 'truth.npy'), '--ids', join(dir, 'ids.txt'), '--out', out, '--metrics', 'none');
  assert.equal(r.status, 0, r.stderr);
  const rows = (await readFile(join(out, 'explained.csv'), 'utf8')).trimEnd().split('\n').slice(1).map((line) => line.split(',').slice(0, 4).join(','));
  assert.deepEqual(rows, ['a,1,1,1', 'b,2,3,0', 'c,9,9,1', 'd,0,0,1', 'e,4,5,0']);
  const summary = JSON.parse(await readFile(join(out, 'summary.json'), 'utf8'));
  assert.equal(summary.methods.explained.groups.correct_excluding_class_9.n, 2);

  await writeSafetensors(join(dir, 'other.safetensors'), { attributions: { dtype: 'F32', shape: [N, 3, H, W], data: heatmaps } }, metadata(['a', 'b', 'x', 'd', 'e']));
  const bad = fiveband('--heatmaps', join(dir, 'other.safetensors'), '--truth', join(dir, 'truth.npy'), '--ids', join(dir, 'ids.txt'), '--out', join(dir, 'bad'));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /other\.safetensors: heatmap 2 is sample "x" but ground-truth map 2 is "c"/);
  assert.equal(existsSync(join(dir, 'bad')), false);
});

test('a folder of heatmap shards is read in name order and scores like the single file', async () => {
  const dir = await fixture();
  const whole = await readNpy(join(dir, 'saliency.npy'));
  const size = 3 * H * W;
  await writeNpy(join(dir, 'shards', 'shard-0000.npy'), (whole.data as Float32Array).subarray(0, 2 * size), [2, 3, H, W]);
  await writeNpy(join(dir, 'shards', 'shard-0001.npy'), (whole.data as Float32Array).subarray(2 * size), [3, 3, H, W]);
  const joined = await readHeatmaps(join(dir, 'shards'));
  assert.equal(joined.n, N);
  assert.deepEqual(joined.data, whole.data);
  const args = ['--truth', join(dir, 'truth.npy'), '--metrics', 'none', '--workers', '1'];
  assert.equal(fiveband('--heatmaps', `M=${join(dir, 'shards')}`, ...args, '--out', join(dir, 'a')).status, 0);
  assert.equal(fiveband('--heatmaps', `M=${join(dir, 'saliency.npy')}`, ...args, '--out', join(dir, 'b')).status, 0);
  for (const file of ['M.csv', 'roc_M.csv', 'scores_long.csv']) {
    assert.equal(await readFile(join(dir, 'a', file), 'utf8'), await readFile(join(dir, 'b', file), 'utf8'), file);
  }
});
