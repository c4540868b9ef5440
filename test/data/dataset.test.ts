import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm, truncate, unlink, writeFile, readdir, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UserError } from '../../src/io/index.js';
import {
  generateDataset, iterateSamples, openDataset, readManifest, readShard, sampleAt, SPLITS, writeSheets,
  type GenerateOptions,
} from '../../src/data/index.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fiveband-data-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A tiny dataset config: 64², 2/1/1 shards × 7 samples (the odd size exercises partial chunks). */
function tiny(out: string, extra: Partial<GenerateOptions> = {}): GenerateOptions {
  return { out, size: 64, seed: 42, shards: { train: 2, val: 1, test: 1 }, perShard: 7, ...extra };
}

async function filesOf(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const split of SPLITS) for (const name of await readdir(join(dir, split))) files.set(`${split}/${name}`, await readFile(join(dir, split, name)));
  files.set('manifest.json', await readFile(join(dir, 'manifest.json')));
  return files;
}

describe('dataset generation', () => {
  it('is byte-identical whatever the number of workers', async () => {
    const one = join(root, 'w1');
    const two = join(root, 'w2');
    await generateDataset(tiny(one, { workers: 1 }));
    await generateDataset(tiny(two, { workers: 2 }));
    const [a, b] = [await filesOf(one), await filesOf(two)];
    assert.deepEqual([...a.keys()].sort(), ['manifest.json', 'test/shard-0000.safetensors', 'train/shard-0000.safetensors', 'train/shard-0001.safetensors', 'val/shard-0000.safetensors']);
    for (const [name, bytes] of a) assert.ok(bytes.equals(b.get(name)!), `${name} differs between 1 and 2 workers`);
  });

  it('a sample does not depend on the shard size (per-sample streams)', async () => {
    const dir = join(root, 'per3');
    await generateDataset(tiny(dir, { perShard: 3, shards: { train: 1, val: 0, test: 0 } }));
    const small = await (await openDataset(dir)).readShard('train', 0);
    const big = await (await openDataset(join(root, 'w1'))).readShard('train', 0);
    const bytes = 3 * 64 * 64 * 3;
    assert.ok(Buffer.from(small.images).equals(Buffer.from(big.images.subarray(0, bytes))));
    assert.deepEqual(small.variables, big.variables.slice(0, 3));
  });

  it('resumes after a deleted and after a truncated shard, regenerating identical bytes', async () => {
    const dir = join(root, 'resume');
    await generateDataset(tiny(dir));
    const original = await filesOf(dir);
    await unlink(join(dir, 'train/shard-0001.safetensors'));
    await truncate(join(dir, 'val/shard-0000.safetensors'), 1000);
    const result = await generateDataset(tiny(dir));
    assert.equal(result.written, 2);
    assert.equal(result.kept, 2);
    const again = await filesOf(dir);
    for (const [name, bytes] of original) assert.ok(bytes.equals(again.get(name)!), `${name} after resume`);
    const nothingToDo = await generateDataset(tiny(dir));
    assert.deepEqual([nothingToDo.written, nothingToDo.kept], [0, 4]);
  });

  it('reading a corrupt or truncated shard fails with an error naming the file', async () => {
    const dir = join(root, 'corrupt');
    await generateDataset(tiny(dir));
    const path = join(dir, 'test/shard-0000.safetensors');
    const bytes = await readFile(path);
    bytes[bytes.length - 5] ^= 0xff;
    await writeFile(path, bytes);
    const dataset = await openDataset(dir);
    await assert.rejects(dataset.readShard('test', 0), (e: unknown) => e instanceof UserError && e.message.includes(path) && /checksum/.test(e.message));
    await truncate(path, 5000);
    await assert.rejects(readShard(path), (e: unknown) => e instanceof UserError && e.message.includes(path) && /truncated/.test(e.message));
  });

  it('refuses a folder holding a different config, or an unrelated non-empty folder, writing nothing', async () => {
    const dir = join(root, 'w1');
    const before = await filesOf(dir);
    await assert.rejects(generateDataset(tiny(dir, { seed: 7 })), (e: unknown) => e instanceof UserError && /different config \(seed 42 vs 7\)/.test(e.message));
    await assert.rejects(generateDataset(tiny(dir, { size: 72 })), /different config \(size 64 vs 72\)/);
    const after = await filesOf(dir);
    for (const [name, bytes] of before) assert.ok(bytes.equals(after.get(name)!));
    const other = join(root, 'other');
    await mkdir(other);
    await writeFile(join(other, 'notes.txt'), 'mine');
    await assert.rejects(generateDataset(tiny(other)), /not empty and is not a fiveband dataset/);
    assert.deepEqual(await readdir(other), ['notes.txt']);
  });

  it('rejects bad options with one-line user errors', async () => {
    const out = join(root, 'never');
    for (const [opts, pattern] of [
      [{ size: 32 }, /size must be an integer >= 64/],
      [{ profile: 'huge' }, /unknown profile/],
      [{ perShard: 0 }, /per shard must be an integer from 1 to 10000, got 0/],
      [{ perShard: 100_000 }, /per shard must be an integer from 1 to 10000, got 100000/],
      [{ shards: { train: -1 } }, /train shard count/],
      [{ shards: { train: 100_000_000 } }, /train shard count must be an integer from 0 to 10000, got 100000000/],
      [{ workers: 0 }, /workers must be/],
      [{ seed: -2 }, /seed must be/],
    ] as const) {
      await assert.rejects(generateDataset(tiny(out, opts as Partial<GenerateOptions>)), (e: unknown) => e instanceof UserError && pattern.test(e.message));
    }
    await assert.rejects(readdir(out), /ENOENT/);
  });
});

describe('dataset reader', () => {
  it('opens the manifest and streams float32 samples matching the stored bytes', async () => {
    const dataset = await openDataset(join(root, 'w1'));
    assert.equal(dataset.size, 64);
    assert.deepEqual(SPLITS.map((s) => dataset.shards[s].length), [2, 1, 1]);
    const manifest = await readManifest(dataset.dir);
    assert.equal(manifest.config.seed, 42);
    const shard = await dataset.readShard('train', 1);
    let i = 0;
    for await (const sample of iterateSamples(dataset, 'train')) {
      if (i === 9) {
        assert.equal(sample.id, 'train/shard-0001/2');
        assert.equal(sample.label, shard.labels[2]);
        assert.equal(sample.image.length, 64 * 64 * 3);
        const direct = sampleAt(shard, 2);
        assert.deepEqual(sample.image, direct.image);
        for (let p = 0; p < sample.image.length; p++) assert.equal(sample.image[p], Math.fround(shard.images[2 * 64 * 64 * 3 + p]! / 255));
        for (let p = 0; p < sample.groundTruth.length; p++) assert.equal(sample.groundTruth[p], Math.fround([0, 0.4, 0.9][sample.bands[p]!]!));
        assert.equal(sample.variables.y0, sample.label);
      }
      i++;
    }
    assert.equal(i, 14);
  });

  it('refuses a manifest whose train entry points at a test shard (with its real checksum), or whose sample count was edited', async () => {
    const dir = join(root, 'swapped');
    await generateDataset(tiny(dir));
    const original = await readFile(join(dir, 'manifest.json'), 'utf8');
    const manifest = JSON.parse(original);
    manifest.splits.train.shards[1] = { ...manifest.splits.test.shards[0] };
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    for (const attempt of [openDataset(dir), generateDataset(tiny(dir))]) {
      await assert.rejects(attempt, (e: unknown) => e instanceof UserError && /train shard 1 is listed as "test\/shard-0000\.safetensors", expected "train\/shard-0001\.safetensors"/.test(e.message));
    }
    const edited = JSON.parse(original);
    edited.splits.val.shards[0].samples = 5;
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(edited));
    await assert.rejects(openDataset(dir), /val shard 0 lists 5 samples, the split has 7 per shard/);
  });

  it('refuses an incomplete dataset (shards not yet written)', async () => {
    const dir = join(root, 'incomplete');
    await generateDataset(tiny(dir));
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
    manifest.splits.val.shards[0].sha256 = null;
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
    await assert.rejects(openDataset(dir), /incomplete \(val\/shard-0000.safetensors not yet generated\)/);
    await writeFile(join(dir, 'manifest.json'), '{"format": "other"}');
    await assert.rejects(openDataset(dir), /not a valid dataset manifest/);
  });

  it('writes the overview and shard sample sheets as PNG', async () => {
    const dataset = await openDataset(join(root, 'w1'));
    const paths = await writeSheets(dataset, { shards: [{ split: 'val', index: 0 }], count: 5 });
    assert.deepEqual(paths.map((p) => p.slice(dataset.dir.length + 1)), ['sheets/overview.png', 'sheets/val-shard-0000.png']);
    for (const p of paths) assert.deepEqual([...(await readFile(p)).subarray(1, 4)], [0x50, 0x4e, 0x47]);
  });
});
