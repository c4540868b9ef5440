import type { Command } from 'commander';
import { join } from 'node:path';
import { openDataset, SPLITS, writeSheets } from '../data/index.js';
import { generateWithProgress, parseCount } from './generate.js';

/** The embedded default run of `npm start`. */
export const START_DEFAULTS = { runDir: join('runs', 'start'), profile: 'small', seed: 0 } as const;

export function register(program: Command): void {
  program
    .command('start')
    .description('the main job on its embedded default: a small seeded dataset with sample sheets under runs/start/')
    .option('--run <dir>', 'run folder', START_DEFAULTS.runDir)
    .option('--workers <k>', 'worker threads (default: all cores)', parseCount('--workers', 1))
    .action(async (opts: { run: string; workers?: number }) => {
      const datasetDir = join(opts.run, 'dataset');
      const result = await generateWithProgress({ out: datasetDir, profile: START_DEFAULTS.profile, seed: START_DEFAULTS.seed, workers: opts.workers });
      const dataset = await openDataset(datasetDir);
      const sheets = await writeSheets(dataset, { shards: [{ split: 'train', index: 0 }] });
      const { config, splits } = result.manifest;
      const counts = SPLITS.map((s) => `${s} ${splits[s].shardCount * splits[s].perShard}`).join(', ');
      process.stdout.write(
        `dataset: ${datasetDir} (${config.classes} classes, ${config.size}×${config.size}, seed ${config.seed}; ${counts} samples; ` +
          `${result.written} shards written, ${result.kept} kept)\n` +
          `sheets:  ${sheets.join(', ')}\n`,
      );
    });
}
