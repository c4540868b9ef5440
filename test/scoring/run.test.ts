import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { generateDataset, openDataset } from '../../src/data/index.js';
import { UserError, writeNpy, writeSafetensors } from '../../src/io/index.js';
import { degenerateNote, presetSetting, runScore } from '../../src/scoring/index.js';

test('runScore: heatmap files in order against a dataset split (or its first samples); progress per method, degenerate ids, nothing written on error', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fiveband-run-score-'));
  const data = join(dir, 'cells');
  await generateDataset({ out: data, size: 64, seed: 2, shards: { train: 0, val: 0, test: 2 }, perShard: 3, workers: 1 });
  const dataset = await openDataset(data);
  const shards = [await dataset.readShard('test', 0), await dataset.readShard('test', 1)];
  const px = 64 * 64;
  // Method "Truth": the ground-truth values (3 samples per file, ids in the metadata); "Zero": all zero (degenerate).
  const truthFile = async (k: number) => {
    const file = join(dir, `truth-${k}.safetensors`);
    await writeSafetensors(file, { heatmaps: { dtype: 'F32', shape: [3, 1, 64, 64], data: Float32Array.from(shards[k]!.bands, (b) => [0, 0.4, 0.9][b]!) } },
      { ids: JSON.stringify(shards[k]!.ids), predicted: JSON.stringify([1, 2, 3]) });
    return file;
  };
  const files = [await truthFile(0), await truthFile(1)];
  await writeNpy(join(dir, 'zero.npy'), new Float32Array(6 * px), [6, 64, 64]);
  const progress: string[] = [];
  const notes: string[] = [];
  const result = await runScore({
    heatmaps: [{ method: 'Truth', files }, { method: 'Zero', path: join(dir, 'zero.npy') }],
    truth: { dataDir: data, split: 'test' }, out: join(dir, 'out'), setting: { ...presetSetting('v1'), adjustment: { kind: 'sum-unnormalised' } },
    onProgress: (method, done, total) => progress.push(`${method} ${done}/${total}`),
    onNote: (note) => notes.push(note),
  });
  assert.equal(result.summary.n, 6);
  assert.deepEqual(progress.filter((p) => p.endsWith('6/6')), ['Truth 6/6', 'Zero 6/6']);
  assert.deepEqual(result.degenerate, [{ method: 'Zero', ids: [...shards[0]!.ids, ...shards[1]!.ids] }]);
  assert.match(degenerateNote('Zero', result.degenerate[0]!.ids), /^Zero: 6 heatmap\(s\) with an all-zero channel sum scored as band 0 everywhere \(ids: test\/shard-0000\/0, /);
  const rows = (await readFile(join(dir, 'out', 'Truth.csv'), 'utf8')).trimEnd().split('\n').slice(1).map((l) => l.split(','));
  assert.deepEqual(rows.map((r) => r[0]), [...shards[0]!.ids, ...shards[1]!.ids]);
  // true classes from the dataset; the predictions stored in Truth's files are dropped, as Zero's files have none
  assert.deepEqual(notes, ["the classes stored in Zero's heatmap files differ from Truth's; not using them"]);
  assert.deepEqual(rows.map((r) => [r[1], r[2]]), [...shards[0]!.labels, ...shards[1]!.labels].map((y) => [String(y), '']));
  for (const row of rows) assert.equal(row[5], '1.0', 'the ground truth scores perfectly');

  // The split's first 3 samples only: the first file
  const limited = await runScore({ heatmaps: [{ method: 'Truth', files: files.slice(0, 1) }], truth: { dataDir: data, split: 'test', limit: 3 }, out: join(dir, 'limited'), setting: presetSetting('mab'), metrics: [] });
  assert.equal(limited.summary.n, 3);
  const limitedRows = (await readFile(join(dir, 'limited', 'Truth.csv'), 'utf8')).trimEnd().split('\n').slice(1).map((l) => l.split(',').slice(0, 3).join(','));
  assert.deepEqual(limitedRows, shards[0]!.ids.map((id, i) => `${id},${shards[0]!.labels[i]},${[1, 2, 3][i]}`));
  // Too many heatmaps for the limited truth: an error, nothing written
  await assert.rejects(runScore({ heatmaps: [{ method: 'Truth', files }], truth: { dataDir: data, split: 'test', limit: 3 }, out: join(dir, 'bad'), setting: presetSetting('mab') }),
    (e) => e instanceof UserError && /Truth: more heatmaps than the 3 ground-truth maps/.test(e.message));
  assert.equal(existsSync(join(dir, 'bad')), false);
});
