import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import type { ExplainResult } from '../attribution/index.js';
import { SPLITS, type Split } from '../data/splits.js';
import type { BackendChoice } from '../nn/names.js';
import { backendLine, backendOption, parseChoice, parseCount, parsePositive, startBackend } from './parse.js';
import { createProgress } from './progress.js';

interface ExplainFlags {
  model: string;
  data: string;
  split: Split;
  methods: string;
  out: string;
  target: 'pred' | 'true';
  score: boolean;
  seed: number;
  workers?: number;
  limit?: number;
  batch: number;
  internalBatch?: number;
  layer?: string;
  camLayer?: string;
  ntSamples?: number;
  ntStdev?: number;
  occlusionWindow?: number;
  occlusionStride?: number;
  steps: number;
  backend?: BackendChoice;
}

export function register(program: Command): void {
  const command = program
    .command('explain')
    .description('run attribution methods (Captum semantics) over a dataset split and write n×3×H×W safetensors per shard and method')
    .requiredOption('--model <dir>', 'model folder (weights.safetensors + arch.json, as written by fiveband train)')
    .requiredOption('--data <dir>', 'dataset folder (as written by fiveband generate)')
    .requiredOption('--out <dir>', 'output folder: attributions/<method>/shard-NNNN.safetensors (resumed if present)')
    .option('--split <name>', `dataset split (${SPLITS.join(', ')})`, parseChoice('--split', SPLITS), 'test' as Split)
    .option('--methods <list>', 'all (the real methods), nulls (the null explainers), or a comma-separated list of these and method names (README, "Attribution"; an unknown name lists the known ones)', 'all')
    .option('--target <which>', 'class to explain: pred (the predicted class, as the reference) or true', parseChoice('--target', ['pred', 'true'] as const), 'pred' as const)
    .option('--no-score', 'only write the attributions, do not score them')
    .option('--seed <s>', 'seed of the random parts (SHAP baselines and draws)', parseCount('--seed', 0), 0)
    .option('--workers <k>', 'worker threads (default: all cores; the output does not depend on it)', parseCount('--workers', 1))
    .option('--limit <k>', 'explain only the first k samples of the split (in shard order), e.g. to try methods quickly; a different limit in the same --out is refused', parseCount('--limit', 1))
    .option('--batch <n>', 'samples per attribution call', parseCount('--batch', 1), 8)
    .option('--internal-batch <n>', 'most expanded rows (IG steps, SHAP draws, DeepLift pairs) per forward/backward pass (default: up to 16, fewer for large activations)', parseCount('--internal-batch', 1))
    .option('--layer <name>', 'GuidedGradCam layer (default: the first convolution, as the reference)')
    .option('--cam-layer <name>', 'GradCam and GradCamPlusPlus layer (default: the last convolution with a spatial output that feeds the logits)')
    .option('--nt-samples <n>', 'SmoothGrad / SmoothGradSq / VarGrad: noisy copies per sample (default 5, as Captum)', parseCount('--nt-samples', 1))
    .option('--occlusion-window <n>', 'Occlusion: side of the square patch set to 0 (default: the input side / 8)', parseCount('--occlusion-window', 1))
    .option('--occlusion-stride <n>', 'Occlusion: patch stride (default: half the patch)', parseCount('--occlusion-stride', 1))
    .option('--nt-stdev <x>', 'SmoothGrad / SmoothGradSq / VarGrad: noise σ in image units [0, 1] (default 0.15)', parsePositive('--nt-stdev'))
    .option('--steps <n>', 'IntegratedGradients steps (Gauss–Legendre)', parseCount('--steps', 1), 50);
  backendOption(command)
    .action(async (flags: ExplainFlags) => {
      const t0 = Date.now();
      const workers = flags.workers ?? availableParallelism();
      const [{ explainDataset, scoreAttributions }, { degenerateNote, degenerateOf, formatSummaryTable }] = await Promise.all([
        import('../attribution/index.js'), import('../scoring/index.js'),
      ]);
      const backend = await startBackend(flags.backend);
      const progress = createProgress('explain');
      let result: ExplainResult;
      try {
        result = await explainDataset({
          modelDir: flags.model, dataDir: flags.data, split: flags.split, methods: flags.methods, outDir: flags.out,
          target: flags.target, seed: flags.seed, workers, batch: flags.batch,
          internalBatchSize: flags.internalBatch, layer: flags.layer, steps: flags.steps, backend, limit: flags.limit,
          camLayer: flags.camLayer, ntSamples: flags.ntSamples, ntStdev: flags.ntStdev,
          occlusionWindow: flags.occlusionWindow, occlusionStride: flags.occlusionStride,
          onProgress: progress.update,
        });
      } finally {
        progress.stop();
      }
      process.stdout.write(
        `attributions ${flags.out}/attributions: ${result.methods.join(', ')} on ${flags.split}${flags.limit === undefined ? '' : ` (first ${result.samples} samples)`}; ` +
          `wrote ${result.computed.length} files, kept ${result.skipped.length} verified files in ${((Date.now() - t0) / 1000).toFixed(1)} s\n` +
          `${await backendLine(workers > 1 && result.computed.length > 1 ? workers : undefined)}\n`,
      );
      if (!flags.score) return;
      const scoring = createProgress('score');
      try {
        const scored = await scoreAttributions({
          outDir: flags.out, dataDir: flags.data, split: flags.split, arch: result.config.spec.arch, methods: result.methods,
          workers, onProgress: scoring.update,
        });
        scoring.stop();
        for (const { preset, summary } of scored) {
          process.stdout.write(`\nscores, setting ${preset} (${summary.setting.steps} threshold sets), in ${flags.out}/scores/${preset}:\n${formatSummaryTable(summary)}\n`);
        }
        // Degenerate heatmaps (all-zero or cancelled channel sums), named once per method over the presets.
        const degenerate = new Map<string, Set<string>>();
        for (const { summary } of scored) {
          for (const { method, ids } of degenerateOf(summary)) {
            const known = degenerate.get(method) ?? new Set<string>();
            ids.forEach((id) => known.add(id));
            degenerate.set(method, known);
          }
        }
        for (const [method, ids] of degenerate) process.stderr.write(`fiveband: note: ${degenerateNote(method, [...ids])}\n`);
      } finally {
        scoring.stop();
      }
    });
}
