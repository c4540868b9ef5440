import type { Command } from 'commander';

/** `fiveband report RUN_DIR`: rebuilds the run's static HTML report from its files (no models or attributions recomputed). */
export function register(program: Command): void {
  program
    .command('report')
    .description('rebuild RUN_DIR/report/index.html (figures as SVG + PNG, galleries, data.json) from a study run or a fiveband score folder')
    .argument('<run-dir>', 'a study run folder (study.json) or a folder written by fiveband score (summary.json)')
    .option('--out <dir>', 'report folder (default RUN_DIR/report; an existing report there is replaced)')
    .action(async (runDir: string, options: { out?: string }) => {
      // Loaded on use: the chart libraries would slow every other command's start-up.
      const { writeReport } = await import('../report/index.js');
      const result = await writeReport(runDir, { out: options.out });
      process.stdout.write(`${result.index}\n`);
    });
}
