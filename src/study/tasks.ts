import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateDataset, openDataset, writeSheets } from '../data/index.js';
import { writeFileAtomic } from '../io/index.js';
import { createModel, describeArch, loadModel } from '../nn/index.js';
import { initBackend } from '../compute/index.js';
import {
  branchSeed, evaluate, shardSetOf, trainBranchOnThisThread, trainContinuous, trainingDataOf, trainMab, withShuffledLabels,
  modelStore, type RunOptions,
} from '../train/index.js';
import { explainConfig, runConditioning, runExplainTask, runSanity, scoreAttributions } from '../attribution/index.js';
import { checkedMethods, checkSamples, randomLabelModel, conditioningDir, DATASET_DIR, evalFile, explainDir, hyperOf, modelDir, methodsFor, sanityDir, specOf, TEST_SPLIT, type StudyModel, type StudyTask } from './plan.js';
import { testPerShard, type StudyConfig } from './profiles.js';
import { copyPretrained } from './pretrained.js';

/** What a task reports while it runs: units done of total. */
export type TaskProgress = (done: number, total: number) => void;

export interface TaskContext {
  runDir: string;
  config: StudyConfig;
  /** Threads a task may use for its own inner parallelism (generation, scoring). */
  threads: number;
  onProgress?: TaskProgress;
}

/** A training task's run: the run's training data, the model's recipe and folder, one thread. */
async function runOptions(ctx: TaskContext, model: StudyModel): Promise<RunOptions> {
  return {
    data: trainingDataOf(await openDataset(join(ctx.runDir, DATASET_DIR))), hyper: hyperOf(ctx.config, model), seed: ctx.config.seed,
    out: join(ctx.runDir, modelDir(model.key)), store: modelStore, threads: 1, onProgress: (i, t) => ctx.onProgress?.(i, t),
  };
}

/** Runs one task to completion; everything it needs is in the run folder and the config. */
export async function executeTask(task: StudyTask, ctx: TaskContext): Promise<void> {
  const { runDir, config } = ctx;
  const dataDir = join(runDir, DATASET_DIR);
  if (task.kind !== 'generate' && task.kind !== 'report' && task.kind !== 'pretrained') await initBackend(config.backend);
  const model = task.model;
  switch (task.kind) {
    case 'generate': {
      const pretrained = config.pretrained !== null;
      const { shards, perShard, size, classes } = config.dataset;
      await generateDataset({
        out: dataDir, size, classes, seed: config.seed, perShard: { train: perShard, val: perShard, test: testPerShard(config) }, workers: ctx.threads,
        // With shipped weights only the test split is needed; its samples are the same either way.
        shards: pretrained ? { train: 0, val: 0, test: shards.test } : shards,
        onProgress: ctx.onProgress,
      });
      await writeSheets(await openDataset(dataDir));
      return;
    }
    case 'pretrained':
      return copyPretrained(config.pretrained!, model!, config, join(runDir, modelDir(model!.key)));
    case 'train-base':
    case 'train-depth':
    case 'train-mab':
    case 'train-random-labels': {
      const options = await runOptions(ctx, model!);
      if (task.kind === 'train-random-labels') options.data = withShuffledLabels(options.data, config.seed);
      const m = createModel(specOf(config, model!), config.seed);
      try {
        if (task.kind === 'train-mab') await trainMab(m, options);
        else await trainContinuous(m, options);
      } finally {
        m.dispose();
      }
      return;
    }
    case 'train-branch': {
      const options = await runOptions(ctx, model!);
      const baseDir = join(runDir, modelDir(`${model!.arch}/base`));
      const base = JSON.parse(await readFile(join(baseDir, 'summary.json'), 'utf8')) as { iterations: number };
      const branch = model!.branch!;
      await trainBranchOnThisThread(
        { branch, startIteration: base.iterations, seed: branchSeed(config.seed, branch), out: options.out, baseDir },
        options,
      );
      return;
    }
    case 'eval': {
      const dataset = await openDataset(dataDir);
      const dir = join(runDir, modelDir(model!.key));
      const m = await loadModel(dir);
      try {
        const result = await evaluate(m, shardSetOf(dataset, TEST_SPLIT));
        await writeFileAtomic(join(runDir, evalFile(model!.key)), `${JSON.stringify({
          model: model!.key, split: TEST_SPLIT, spec: m.spec, accuracy: result.accuracy, correct: result.correct, total: result.total, confusion: result.confusion,
        }, null, 2)}\n`);
      } finally {
        m.dispose();
      }
      return;
    }
    case 'explain': {
      const dir = join(runDir, modelDir(model!.key));
      const dataset = await openDataset(dataDir);
      const spec = specOf(config, model!);
      const attributionConfig = await explainConfig({
        modelDir: dir, spec, dataset, split: TEST_SPLIT, target: 'pred', seed: config.seed, batch: config.explainBatch,
        layer: describeArch(spec).firstConv, backend: config.backend, steps: config.integratedGradientsSteps,
      });
      const total = dataset.shards[TEST_SPLIT][task.shard!]!.samples;
      await runExplainTask(
        { modelDir: dir, dataDir, outDir: join(runDir, explainDir(model!.key), 'attributions'), shard: task.shard!, method: task.method!, config: attributionConfig },
        (n) => ctx.onProgress?.(n, total),
      );
      return;
    }
    case 'score':
      await scoreAttributions({
        outDir: join(runDir, explainDir(model!.key)), dataDir, split: TEST_SPLIT, arch: model!.arch,
        methods: methodsFor(config, model!), workers: ctx.threads, onProgress: ctx.onProgress,
      });
      return;
    case 'sanity': {
      const shuffled = randomLabelModel(config, model!);
      await runSanity({
        modelDir: join(runDir, modelDir(model!.key)), dataDir, out: join(runDir, sanityDir(model!.key)), split: TEST_SPLIT,
        methods: checkedMethods(config, model!, config.sanity!.methods).join(','), limit: checkSamples(config, config.sanity!.samples), points: config.sanity!.points, seed: config.seed, steps: config.integratedGradientsSteps,
        backend: config.backend, onProgress: (done, total) => ctx.onProgress?.(done, total),
        ...(shuffled ? { randomLabelModel: join(runDir, modelDir(shuffled.key)) } : {}),
      });
      return;
    }
    case 'conditioning':
      await runConditioning({
        modelDir: join(runDir, modelDir(model!.key)), dataDir, out: join(runDir, conditioningDir(model!.key)), split: TEST_SPLIT,
        methods: checkedMethods(config, model!, config.conditioning!.methods).join(','), limit: checkSamples(config, config.conditioning!.samples), seed: config.seed, steps: config.integratedGradientsSteps,
        backend: config.backend, onProgress: (done, total) => ctx.onProgress?.(done, total),
      });
      return;
    case 'report': {
      const { writeReport } = await import('../report/index.js');
      await writeReport(runDir);
      return;
    }
  }
}

/** Files under a run-relative output path (a folder ends in "/"), sorted; temp files and checkpoints excluded. */
export async function outputFiles(runDir: string, output: string): Promise<string[]> {
  if (!output.endsWith('/')) return [output];
  const found: string[] = [];
  const walk = async (rel: string) => {
    let entries;
    try {
      entries = await readdir(join(runDir, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const path = `${rel}${e.name}`;
      if (e.isDirectory()) await walk(`${path}/`);
      else if (!e.name.includes('.tmp-') && e.name !== 'checkpoint.safetensors') found.push(path);
    }
  };
  await walk(output);
  return found.sort();
}
