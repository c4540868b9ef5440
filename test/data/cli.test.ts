import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fiveband } from '../helpers/cli.js';


let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'fiveband-cli-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('fiveband generate / show', () => {
  it('generates a dataset, resumes it, and draws sheets', async () => {
    const out = join(root, 'ds');
    const first = fiveband('generate', '--out', out, '--size', '64', '--shards', '1/1/0', '--per-shard', '4', '--seed', '3', '--workers', '1');
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /10 classes, 64×64, seed 3, train 1×4, val 1×4, test 0×4/);
    assert.match(first.stdout, /wrote 2 shards, kept 0/);
    const again = fiveband('generate', '--out', out, '--size', '64', '--shards', '1/1/0', '--per-shard', '4', '--seed', '3');
    assert.match(again.stdout, /wrote 0 shards, kept 2/);
    const show = fiveband('show', out, '--shard', 'val/0', '--count', '2');
    assert.equal(show.code, 0, show.stderr);
    assert.deepEqual(await readdir(join(out, 'sheets')), ['overview.png', 'val-shard-0000.png']);
  });

  it('bad arguments: one line on stderr, exit code 2, nothing written', async () => {
    const existing = join(root, 'ds');
    const file = join(root, 'a-file');
    await writeFile(file, 'x');
    const out = join(root, 'never');
    const cases: [string[], RegExp][] = [
      [['generate', '--out', out, '--size', '32'], /--size must be an integer >= 64/],
      [['generate', '--out', out, '--profile', 'huge'], /unknown profile "huge"/],
      [['generate', '--out', out, '--per-shard', '-4'], /--per-shard must be an integer >= 1/],
      [['generate', '--out', out, '--shards', '2/-1/1'], /--shards must be an integer >= 0/],
      [['generate', '--out', out, '--shards', '2/1'], /--shards takes train\/val\/test counts/],
      [['generate', '--out', out, '--classes', '5'], /--classes must be 10 or 3/],
      [['generate', '--out', out, '--seed', 'abc'], /--seed must be a whole number/],
      [['generate', '--out', existing, '--size', '64', '--shards', '1/1/0', '--per-shard', '4', '--seed', '4'], /different config \(seed 3 vs 4\)/],
      [['generate', '--out', join(file, 'sub'), '--size', '64'], /cannot write dataset folder .*ENOTDIR/],
      [['show', join(root, 'nothing')], /not a fiveband dataset/],
      [['show', existing, '--shard', 'train/5'], /train has 1 shards, no shard 5/],
    ];
    for (const [args, pattern] of cases) {
      const r = fiveband(...args);
      assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}, stderr ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.match(r.stderr, /^fiveband: /);
    }
    assert.equal(existsSync(out), false);
  });
});
