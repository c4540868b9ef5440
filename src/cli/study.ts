import type { Command } from 'commander';
import type { BackendChoice } from '../nn/names.js';
import { UserError } from '../io/index.js';
import type { StudyOverrides, StudyProgress, StudyResult } from '../study/index.js';
import { STUDY_ARCHS, STUDY_PROFILES, type StudyArch, type StudyProfile } from '../study/names.js';
import { backendOption, parseChoice, parseCount, parsePositive, startBackend } from './parse.js';
import { createProgress } from './progress.js';

interface StudyCliOptions {
  profile: StudyProfile; out: string; archs?: string; methods?: string; branches?: number; size?: number; seed?: number;
  workers?: number; backend?: BackendChoice; retrain?: boolean; extend?: boolean; testSamples?: number; config?: string;
  queue?: string; taskTimeout?: number;
}

const list = (text: string) => text.split(',').map((s) => s.trim()).filter((s) => s.length > 0);

/** Runs a study with one progress display and prints where its report is. */
export async function studyCommand(opts: StudyCliOptions): Promise<StudyResult> {
  if (opts.queue !== undefined && opts.workers !== undefined) throw new UserError('--workers is the local scheduler\'s; with --queue, start `fiveband worker --queue …` processes instead');
  if (opts.queue === undefined && opts.taskTimeout !== undefined) throw new UserError('--task-timeout applies to a run on a queue (--queue)');
  const { readStudyConfig, runStudy, runStudyOnQueue, studyConfig } = await import('../study/index.js');
  const overrides: StudyOverrides = {
    ...(opts.archs ? { archs: list(opts.archs).map((a) => parseChoice('--archs', STUDY_ARCHS)(a) as StudyArch) } : {}),
    ...(opts.methods ? { methods: list(opts.methods) } : {}),
    ...(opts.branches !== undefined ? { branches: opts.branches } : {}),
    ...(opts.size !== undefined ? { size: opts.size } : {}),
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    // The backend is part of a run's config (a resumed run keeps its own): wasm unless named.
    ...(opts.backend !== undefined || process.env.FIVEBAND_BACKEND ? { backend: await startBackend(opts.backend) } : {}),
    ...(opts.testSamples !== undefined ? { testSamples: opts.testSamples } : {}),
    retrain: opts.retrain === true,
  };
  const { config, note } = opts.config ? { config: await readStudyConfig(opts.config), note: null } : studyConfig(opts.profile, overrides);
  if (note) process.stderr.write(`fiveband: note: ${note}\n`);
  const progress = createProgress(`study ${config.profile}`);
  const onProgress = (p: StudyProgress) => progress.update(Math.round(10 * p.done), Math.max(1, Math.round(10 * p.total)),
    `${p.finishedTasks}/${p.totalTasks} tasks${p.running.length > 0 ? ` | ${p.running.join(', ')}` : ''}`);
  let result: StudyResult;
  let queueText = '';
  try {
    if (opts.queue !== undefined) {
      const queued = await runStudyOnQueue({
        out: opts.out, config, queue: opts.queue, extend: opts.extend === true, onProgress,
        ...(opts.taskTimeout !== undefined ? { taskTimeout: opts.taskTimeout } : {}),
        onAttach: () => process.stderr.write(`fiveband: ${opts.out} is being run by another \`study --queue\`; following its progress\n`),
        onNotice: (line) => process.stderr.write(`fiveband: ${line}\n`),
      });
      result = queued;
      queueText = `, queue ${opts.queue}, ${queued.workers} worker${queued.workers === 1 ? '' : 's'}${queued.attached ? ', followed' : ''}`;
    } else {
      result = await runStudy({ out: opts.out, config, extend: opts.extend === true, ...(opts.workers !== undefined ? { workers: opts.workers } : {}), onProgress });
    }
  } finally {
    progress.stop();
  }
  const stages = new Map<string, { tasks: number; seconds: number }>();
  for (const id of result.ran) {
    const record = result.manifest.tasks[id]!;
    const stage = stages.get(record.kind) ?? { tasks: 0, seconds: 0 };
    stages.set(record.kind, { tasks: stage.tasks + 1, seconds: stage.seconds + record.wallSeconds });
  }
  const stageText = [...stages].map(([kind, s]) => `${kind} ${s.seconds.toFixed(1)} s (${s.tasks})`).join(', ');
  process.stdout.write(
    `study ${result.manifest.config.profile} in ${opts.out} (backend ${result.manifest.config.backend}${queueText}): ${result.ran.length} tasks run, ${result.skipped.length} verified and kept, ${result.wallSeconds.toFixed(1)} s\n` +
      (stageText ? `task time by stage (summed over threads): ${stageText}\n` : '') +
      `report: ${result.reportIndex}\n`,
  );
  return result;
}

export function register(program: Command): void {
  backendOption(program
    .command('study')
    .description('the whole study of the paper: data → models (branches, SPA, depth) → explanations → five-band scores → report (resumable)')
    .option('--profile <name>', `${STUDY_PROFILES.join(', ')}`, parseChoice('--profile', STUDY_PROFILES), 'quick' as StudyProfile)
    .requiredOption('--out <dir>', 'run folder (rerunning the same command resumes it)')
    .option('--archs <list>', `comma-separated subset of ${STUDY_ARCHS.join(', ')}`)
    .option('--methods <list>', 'comma-separated attribution methods (default: the paper\'s nine, GradCam, GradCamPlusPlus, SmoothGrad and the reference maps NullUniform, NullGaussian, NullEdges, NullBlob, GroundTruth; mab is added for SPA)')
    .option('--branches <n>', 'early-stopping branches per classifier', parseCount('--branches', 1))
    .option('--size <N>', 'dataset image side (models never take more than the data\'s size)', parseCount('--size', 64))
    .option('--test-samples <n>', 'samples per test shard (the training data stay the profile\'s; e.g. --test-samples 10 for a first look)', parseCount('--test-samples', 1))
    .option('--seed <s>', 'seed of the data, models and attributions', parseCount('--seed', 0))
    .option('--workers <k>', 'tasks run at once, each on its own thread (default: all cores; results do not depend on it)', parseCount('--workers', 1))
    .option('--queue <url>', 'run the tasks on a queue (redis://host:port) that `fiveband worker` processes take them from, on any machine that sees --out at the same path; rerun (or run from another shell) to attach')
    .option('--task-timeout <seconds>', 'with --queue: a task running longer is stopped and retried (default one day)', parsePositive('--task-timeout'))
    .option('--config <file>', 'a whole study config as JSON (the fields of study.json\'s "config"); the other options are then ignored')
    .option('--extend', 'let a finished or partial run take more methods or other sanity/conditioning settings, keeping its data, models and unchanged results')
    .option('--retrain', 'train every model even where the package ships weights for the profile'),
  'wasm; auto as other commands take it')
    .action(async (opts: StudyCliOptions) => {
      await studyCommand(opts);
    });
}

/** Maintainers: `fiveband pack-weights --name quick RUN...` after the profile's `--retrain` runs (README, "The study"). */
export function registerPack(program: Command): void {
  program
    .command('pack-weights', { hidden: true })
    .description('copy the explained models of finished --retrain study runs into the package\'s weights/<name>/')
    .requiredOption('--name <name>', 'profile whose weights these are')
    .requiredOption('--command <text...>', 'the exact commands that trained the runs (recorded in the manifest)')
    .argument('<runs...>', 'finished study run folders')
    .action(async (runs: string[], opts: { name: string; command: string[] }) => {
      const { packPretrained, pretrainedRoot } = await import('../study/index.js');
      const packed = await packPretrained(runs, opts.name, opts.command);
      process.stdout.write(`packed ${Object.keys(packed.models).length} models into ${pretrainedRoot(opts.name)}\n`);
    });
}
