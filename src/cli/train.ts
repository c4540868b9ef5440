import type { Command } from 'commander';
import type { BlockInit } from '../nn/index.js';
import { ARCHS, type Arch, type BackendChoice } from '../nn/names.js';
import type { Mode, Profile, TrainProgress } from '../train/index.js';
import { backendLine, backendOption, parseChoice, parseCount, parsePositive, startBackend } from './parse.js';
import { createProgress } from './progress.js';

const MODES: readonly Mode[] = ['continuous', 'branches', 'mab'];

interface TrainOptions {
  arch: Arch; data: string; out: string; mode?: Mode; profile: Profile; size?: number; width?: number; depth?: number; blockInit?: BlockInit;
  epochs?: number; baseEpochs?: number; batch?: number; lr?: number; lrDecayEpoch?: number; lrWarmup?: number; seed: number; backend?: BackendChoice; branches?: number;
  lambda?: number; minEpoch?: number; classes?: number; base?: string; checkpointEvery: number;
  microBatches?: number; threads?: number; shuffleLabels?: boolean;
}

/** The progress bar's status: loss, validation accuracy and phase. */
export function progressReporter(update: (done: number, total: number, status?: string) => void): TrainProgress {
  return (iteration, total, status) => {
    const parts = [
      status.phase,
      status.loss === undefined ? undefined : `loss ${status.loss.toFixed(4)}`,
      status.validationAccuracy === undefined ? undefined : `val ${(100 * status.validationAccuracy).toFixed(1)}%`,
    ].filter((p) => p !== undefined);
    update(iteration, total, parts.join(' | '));
  };
}

export function register(program: Command): void {
  backendOption(program
    .command('train')
    .description('train a classifier on a dataset (resumes an interrupted run in --out from its checkpoint)')
    .requiredOption('--arch <name>', `architecture: ${ARCHS.join(', ')}`, parseChoice('--arch', ARCHS))
    .requiredOption('--data <dir>', 'dataset folder written by fiveband generate')
    .requiredOption('--out <dir>', 'run folder: model (weights.safetensors + arch.json), curves.csv, summary.json')
    .option('--mode <mode>', 'continuous (base model), branches (regular evaluation + early stopping, §2.5) or mab (SPA only); default mab for spa, else continuous', parseChoice('--mode', MODES))
    .option('--profile <name>', 'small (fast defaults for 2 cores) or paper (the paper\'s sizes and epochs)', parseChoice('--profile', ['small', 'paper'] as const), 'small' as Profile)
    .option('--size <N>', 'model input side (data are resized to it; at most the data\'s size)', parseCount('--size', 1))
    .option('--width <w>', 'channel width multiplier (1 = the reference architecture)', parsePositive('--width'))
    .option('--depth <k>', 'alexnet-depth: number of extra Conv(3→3) + LeakyReLU blocks', parseCount('--depth', 0))
    .option('--block-init <init>', 'alexnet-depth: the extra blocks\' initialisation, kaiming (the profiles\') or pytorch (the reference\'s)', parseChoice('--block-init', ['kaiming', 'pytorch'] as const))
    .option('--epochs <n>', 'epochs (continuous, the branches of branches mode, or the mab maximum)', parseCount('--epochs', 1))
    .option('--base-epochs <n>', 'branches mode: epochs of the base model', parseCount('--base-epochs', 1))
    .option('--batch <n>', 'batch size', parseCount('--batch', 1))
    .option('--micro-batches <k>', 'split each batch into k micro-batches whose gradients add up (BatchNorm per micro-batch); threads compute them in parallel (default: the profile\'s)', parseCount('--micro-batches', 1))
    .option('--threads <n>', 'threads: branches trained at once (branches mode) or threads computing the micro-batches (default: as many as branches or micro-batches, at most the CPUs); results do not depend on it', parseCount('--threads', 1))
    .option('--lr <x>', 'Adam learning rate', parsePositive('--lr'))
    .option('--lr-decay-epoch <n>', 'divide the learning rate by 10 from this epoch on (0-based; default: the profile\'s, kept as many epochs before the end when --epochs or --base-epochs change the run\'s length)', parseCount('--lr-decay-epoch', 0))
    .option('--lr-warmup <n>', 'raise the learning rate linearly over the first n steps of the run (default: 0, none)', parseCount('--lr-warmup', 0))
    .option('--seed <s>', 'seed of the initialisation, data order and dropout', parseCount('--seed', 0), 0)
    .option('--branches <k>', 'branches mode: number of branches', parseCount('--branches', 1))
    .option('--lambda <x>', 'mab mode: weight of the band loss', parsePositive('--lambda', true))
    .option('--min-epoch <n>', 'mab mode: stop at the target only after this epoch', parseCount('--min-epoch', -1))
    .option('--classes <n>', 'expected number of classes (checked against the data)', parseCount('--classes', 2))
    .option('--base <dir>', 'branches mode: an existing base model folder (default: train one into <out>/base)')
    .option('--shuffle-labels', 'continuous mode: train on class labels permuted within each shard (the model of sanity --random-label-model)')
    .option('--checkpoint-every <n>', 'iterations between checkpoints', parseCount('--checkpoint-every', 1), 100))
    .action(async (opts: TrainOptions) => {
      const { runTraining } = await import('../train/index.js');
      const { data, base, ...rest } = opts;
      const backend = await startBackend(opts.backend);
      const progress = createProgress(`train ${opts.arch}`);
      let result;
      try {
        result = await runTraining({
          ...rest, backend, dataDir: data, ...(base === undefined ? {} : { baseDir: base }), onProgress: progressReporter(progress.update),
        });
      } finally {
        progress.stop();
      }
      process.stdout.write(`${result.lines.join('\n')}\n${await backendLine()}\n`);
    });
}
