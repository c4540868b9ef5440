import type { Command } from 'commander';
import { SPLITS, type Split } from '../data/splits.js';
import type { BackendChoice } from '../nn/names.js';
import { backendLine, backendOption, parseChoice, parseCount, startBackend } from './parse.js';
import { createProgress } from './progress.js';

const cell = (v: number | null) => (v === null ? '-' : v.toFixed(3));

/** The flags of a check of one model's heatmaps (sanity, conditioning), as ModelCheckOptions takes them. */
export interface ModelCheckFlags { model: string; data: string; out: string; split: Split; methods: string; limit: number; seed: number; steps: number; backend?: BackendChoice }

/** Adds the flags every model check shares; `outputs` names what --out receives, `limit` and `seed` say what they mean there. */
export function modelCheckFlags(command: Command, help: { outputs: string; limit: string; seed: string }): Command {
  return backendOption(command
    .requiredOption('--model <dir>', 'model folder (weights.safetensors + arch.json)')
    .requiredOption('--data <dir>', 'dataset folder written by fiveband generate')
    .requiredOption('--out <dir>', `output folder: ${help.outputs}`)
    .option('--split <name>', `split: ${SPLITS.join(', ')}`, parseChoice('--split', SPLITS), 'test' as Split)
    .option('--methods <list>', 'methods as explain takes them (all, nulls or names)', 'all')
    .option('--limit <k>', help.limit, parseCount('--limit', 2), 16)
    .option('--seed <s>', help.seed, parseCount('--seed', 0), 0)
    .option('--steps <n>', 'IntegratedGradients steps (Gauss–Legendre), as explain takes them', parseCount('--steps', 1), 50));
}

export function register(program: Command): void {
  const command = program
    .command('sanity')
    .description('model-randomisation sanity checks (Adebayo et al. 2018): how much each method\'s heatmaps change when the model\'s layers are re-initialised');
  modelCheckFlags(command, {
    outputs: 'sanity.csv, sanity.json, heatmaps/, scores/', limit: 'samples: the split\'s first k',
    seed: 'seed of the random parts of the methods; the random layers use seed + 1',
  })
    .option('--points <n>', 'randomisation depths shown, from the top layer to all layers', parseCount('--points', 2), 6)
    .option('--random-label-model <dir>', 'also the random-label check: a model of the same architecture trained with train --shuffle-labels')
    .action(async (opts: ModelCheckFlags & { points: number; randomLabelModel?: string }) => {
      const { runSanity } = await import('../attribution/index.js');
      const backend = await startBackend(opts.backend);
      const progress = createProgress('sanity');
      const result = await runSanity({
        modelDir: opts.model, dataDir: opts.data, out: opts.out, split: opts.split, methods: opts.methods,
        limit: opts.limit, points: opts.points, seed: opts.seed, steps: opts.steps, backend, onProgress: progress.update,
        ...(opts.randomLabelModel !== undefined ? { randomLabelModel: opts.randomLabelModel } : {}),
      }).finally(() => progress.stop());
      const lines = [`cascading randomisation from the top of ${result.layers.length} layers, ${result.samples} samples (Spearman |map| with the trained model's maps; Rmu, Pmu of the randomised maps):`];
      const methods = Object.keys(result.trained);
      const depths = [...new Set(result.steps.filter((s) => s.mode === 'cascading').map((s) => s.layers))];
      const width = Math.max(6, ...methods.map((m) => m.length));
      lines.push(`${'method'.padEnd(width)}  trained Rmu/Pmu  ${depths.map((k) => `top ${k}`.padEnd(19)).join('')}`);
      for (const method of methods) {
        const t = result.trained[method]!;
        const row = depths.map((k) => {
          const s = result.steps.find((x) => x.method === method && x.mode === 'cascading' && x.layers === k)!;
          return `${cell(s.spearman_abs)} ${cell(s.Rmu)}/${cell(s.Pmu)}`.padEnd(19);
        });
        lines.push(`${method.padEnd(width)}  ${`${cell(t.Rmu)}/${cell(t.Pmu)}`.padEnd(15)}  ${row.join('')}`);
      }
      const shuffled = result.steps.filter((s) => s.mode === 'random-labels');
      if (shuffled.length > 0) {
        lines.push(`random labels (the same architecture trained on shuffled labels; Spearman |map| with the trained model's maps, Rmu/Pmu):`);
        for (const s of shuffled) lines.push(`${s.method.padEnd(width)}  ${cell(s.spearman_abs)} ${cell(s.Rmu)}/${cell(s.Pmu)}`);
      }
      lines.push(result.insensitive.length > 0
        ? `insensitive to the model (Spearman |map| >= 0.5 with every layer random): ${result.insensitive.join(', ')}`
        : 'every method\'s maps change when the model is random (Spearman |map| < 0.5 with every layer random)');
      lines.push(`written to ${opts.out}/sanity.csv, sanity.json`);
      lines.push(await backendLine());
      process.stdout.write(`${lines.map((l) => l.trimEnd()).join('\n')}\n`);
    });
}
