import type { Command } from 'commander';
import { createProgress } from './progress.js';
import { backendLine, startBackend } from './parse.js';
import { modelCheckFlags, type ModelCheckFlags } from './sanity.js';

const pct = (v: number) => `${(100 * v).toFixed(0)}%`;

export function register(program: Command): void {
  const command = program
    .command('conditioning')
    .description('how much of each method\'s heatmaps is floating-point rounding: maps and scores under a one-ulp change of the input and with batch 1 instead of n');
  modelCheckFlags(command, {
    outputs: 'conditioning.csv, conditioning.json', limit: 'samples: the split\'s first k (the batch of n is all of them)',
    seed: 'seed of the methods\' random parts and of the ulp directions',
  })
    .action(async (opts: ModelCheckFlags) => {
      const { runConditioning } = await import('../attribution/index.js');
      const backend = await startBackend(opts.backend);
      const progress = createProgress('conditioning');
      const result = await runConditioning({
        modelDir: opts.model, dataDir: opts.data, out: opts.out, split: opts.split, methods: opts.methods,
        limit: opts.limit, seed: opts.seed, steps: opts.steps, backend, onProgress: progress.update,
      }).finally(() => progress.stop());
      const width = Math.max(6, ...result.rows.map((r) => r.method.length));
      const lines = [
        `${result.samples} samples; map change = median / max relative L2 of the channel sums; moved = samples whose Rmu / Pmu change by more than ${result.tolerance}`,
        `${'method'.padEnd(width)}  ${'one ulp: map change'.padEnd(22)}${'moved R/P'.padEnd(12)}${'batch 1: map change'.padEnd(22)}moved R/P`,
      ];
      for (const method of [...new Set(result.rows.map((r) => r.method))]) {
        const cells = (['one-ulp', 'batch-1'] as const).map((p) => {
          const r = result.rows.find((x) => x.method === method && x.perturbation === p)!;
          return `${`${r.map_rel_l2_median.toExponential(1)} / ${r.map_rel_l2_max.toExponential(1)}`.padEnd(22)}${`${pct(r.rmu_moved)} / ${pct(r.pmu_moved)}`.padEnd(12)}`;
        });
        lines.push(`${method.padEnd(width)}  ${cells.join('')}`);
      }
      lines.push(result.dominated.length > 0
        ? `scores dominated by rounding (more than a quarter of the samples move): ${result.dominated.join(', ')}`
        : 'no method\'s scores are dominated by rounding (at most a quarter of the samples move)');
      lines.push(`written to ${opts.out}/conditioning.csv, conditioning.json`);
      lines.push(await backendLine());
      process.stdout.write(`${lines.map((l) => l.trimEnd()).join('\n')}\n`);
    });
}
