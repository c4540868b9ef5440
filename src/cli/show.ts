import type { Command } from 'commander';
import { ensure } from '../io/index.js';
import type { Dataset } from '../data/index.js';
import { SPLITS, type Split } from '../data/splits.js';
import { parseCount } from './parse.js';

/** `train/3`, `train/shard-0003` or `all` → shard references (checked against the dataset). */
function resolveShards(dataset: Dataset, specs: string[]): { split: Split; index: number }[] {
  if (specs.includes('all')) return SPLITS.flatMap((split) => dataset.shards[split].map((s) => ({ split, index: s.index })));
  return specs.map((spec) => {
    const match = /^(train|val|test)\/(?:shard-)?(\d+)$/.exec(spec);
    ensure(match, `--shard takes split/index like train/0 or test/shard-0003 (or all), got "${spec}"`);
    const split = match[1] as Split;
    const index = Number(match[2]);
    ensure(index < dataset.shards[split].length, `${dataset.dir}: ${split} has ${dataset.shards[split].length} shards, no shard ${index}`);
    return { split, index };
  });
}

export function register(program: Command): void {
  program
    .command('show')
    .description('write sample sheets (PNG) of a dataset: a class × background overview and pages of chosen shards')
    .argument('<dir>', 'dataset folder')
    .option('--shard <split/index...>', 'shards to draw a page of (e.g. train/0 test/3, or all)', [] as string[])
    .option('--count <n>', 'samples per shard page', parseCount('--count', 1), 16)
    .action(async (dir: string, opts: { shard: string[]; count: number }) => {
      const { openDataset, writeSheets } = await import('../data/index.js');
      const dataset = await openDataset(dir);
      const paths = await writeSheets(dataset, { shards: resolveShards(dataset, opts.shard), count: opts.count });
      process.stdout.write(`${paths.join('\n')}\n`);
    });
}
