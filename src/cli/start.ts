import type { Command } from 'commander';
import { join } from 'node:path';
import { parseCount } from './parse.js';
import { studyCommand } from './study.js';

/** `npm start`: the quick study into runs/quick. */
export const START_RUN_DIR = join('runs', 'quick');

export function register(program: Command): void {
  program
    .command('start')
    .description(`the main job: the quick study (every stage, every figure of the paper) into ${START_RUN_DIR}/, then the report's path`)
    .option('--out <dir>', 'run folder', START_RUN_DIR)
    .option('--workers <k>', 'tasks run at once (default: all cores)', parseCount('--workers', 1))
    .action(async (opts: { out: string; workers?: number }) => {
      await studyCommand({ profile: 'quick', out: opts.out, ...(opts.workers !== undefined ? { workers: opts.workers } : {}) });
    });
}
