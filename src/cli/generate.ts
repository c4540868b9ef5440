import type { Command } from 'commander';
import type { GenerateOptions, ProfileName } from '../data/index.js';
import { SPLITS, type Split } from '../data/splits.js';
import { ensure } from '../io/index.js';
import { parseCount } from './parse.js';
import { createProgress } from './progress.js';

/** `--shards a/b/c` → train/val/test shard counts. */
function parseShards(text: string): Record<Split, number> {
  const parts = text.split('/');
  ensure(parts.length === 3, `--shards takes train/val/test counts like 8/2/2, got "${text}"`);
  const counts = parts.map(parseCount('--shards', 0));
  return Object.fromEntries(SPLITS.map((s, i) => [s, counts[i]!])) as Record<Split, number>;
}

function parseProfile(text: string): ProfileName {
  ensure(text === 'small' || text === 'paper', `unknown profile "${text}" (choose small or paper)`);
  return text;
}

function parseClasses(text: string): 10 | 3 {
  ensure(text === '10' || text === '3', `--classes must be 10 or 3, got "${text}"`);
  return Number(text) as 10 | 3;
}

/** Runs a generation with a progress bar on stderr; returns the result. */
export async function generateWithProgress(options: Omit<GenerateOptions, 'onProgress'>) {
  const { generateDataset } = await import('../data/index.js');
  const progress = createProgress('generate');
  try {
    return await generateDataset({ ...options, onProgress: progress.update });
  } finally {
    progress.stop();
  }
}

export function register(program: Command): void {
  program
    .command('generate')
    .description('generate (or resume) a synthetic cells dataset: manifest.json + train/val/test safetensors shards')
    .requiredOption('--out <dir>', 'dataset folder (created; an existing one with the same config is resumed)')
    .option('--profile <name>', 'small (128², 80/2/2 shards × 200) or paper (512², 32/8/8 × 200; 3 classes: 256², 16/4/4 × 256)', parseProfile, 'small')
    .option('--size <N>', 'image side in pixels (>= 64; default from the profile)', parseCount('--size', 64))
    .option('--classes <n>', '10 (the paper) or 3 (the V2 demo: plus, green rectangle, eight tails)', parseClasses, 10 as 10 | 3)
    .option('--seed <s>', 'random seed (integer >= 0)', parseCount('--seed', 0), 0)
    .option('--shards <a/b/c>', 'train/val/test shard counts (default from the profile)', parseShards)
    .option('--per-shard <n>', 'samples per shard (default from the profile)', parseCount('--per-shard', 1))
    .option('--workers <k>', 'worker threads (default: all cores)', parseCount('--workers', 1))
    .action(async (opts: { out: string; profile: ProfileName; size?: number; classes: 10 | 3; seed: number; shards?: Record<Split, number>; perShard?: number; workers?: number }) => {
      const t0 = Date.now();
      const result = await generateWithProgress({
        out: opts.out, profile: opts.profile, size: opts.size, classes: opts.classes, seed: opts.seed,
        shards: opts.shards, perShard: opts.perShard, workers: opts.workers,
      });
      const { config, splits } = result.manifest;
      const counts = SPLITS.map((s) => `${s} ${splits[s].shardCount}×${splits[s].perShard}`).join(', ');
      process.stdout.write(
        `dataset ${result.dir}: ${config.classes} classes, ${config.size}×${config.size}, seed ${config.seed}, ${counts}\n` +
          `wrote ${result.written} shards, kept ${result.kept} verified shards in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
      );
    });
}
