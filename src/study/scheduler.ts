import { readdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { UserError, ensure, lockFolder, makeFolder } from '../io/index.js';
import { hashOutputs, inputsDigest, keepVerified, openManifest, saveManifest, type StudyManifest } from './manifest.js';
import { planStudy, REPORT_DIR, type StudyTask } from './plan.js';
import type { StudyConfig } from './profiles.js';
import { executeTask } from './tasks.js';
import type { WorkerReply, WorkerRequest } from './task-worker.js';

/** The whole study's progress: cost units done of total, tasks finished of all, and the tasks running now. */
export interface StudyProgress {
  done: number;
  total: number;
  finishedTasks: number;
  totalTasks: number;
  running: string[];
}

export interface RunStudyOptions {
  out: string;
  config: StudyConfig;
  /** Tasks run at once (worker threads); results do not depend on it. Default: all cores. */
  workers?: number;
  onProgress?: (progress: StudyProgress) => void;
  /** Accept a run whose config differs only in methods added or check settings (manifest.ts, EXTENDABLE_FIELDS). */
  extend?: boolean;
  /** Called when a task is skipped because its outputs verified, or when one finishes. */
  onTask?: (id: string, outcome: 'skipped' | 'done', wallSeconds: number) => void;
}

export interface StudyResult {
  manifest: StudyManifest;
  ran: string[];
  skipped: string[];
  reportIndex: string;
  wallSeconds: number;
}

/** How often a running task's time is written to the manifest (a kill loses at most this much of it). */
const HEARTBEAT_MS = 5000;

/**
 * Runs a study: plans its tasks, skips those whose outputs verify against the run manifest, and runs the
 * rest on a pool of worker threads as their dependencies finish (the longest ready task first). The
 * manifest is rewritten atomically after every task, so a killed run loses at most the tasks in flight
 * and the same command resumes it.
 */
export async function runStudy(options: RunStudyOptions): Promise<StudyResult> {
  const t0 = Date.now();
  const workers = options.workers ?? availableParallelism();
  ensure(Number.isInteger(workers) && workers >= 1, `--workers must be a positive integer, got ${workers}`);
  const runDir = options.out;
  await makeFolder(runDir);
  // A folder that is not a study run (or an empty one) is refused before the lock, whose cleanup walks 6 levels
  // down: `--out ~` must not scan (or touch) a home folder.
  await openManifest(runDir, options.config, await readdir(runDir), options.extend);
  const release = await lockFolder(runDir, 6); // also clears what writers killed in an earlier session left half-written
  try {
    const { manifest, extended } = await openManifest(runDir, options.config, await readdir(runDir), options.extend);
    manifest.sessions.push({ startedAt: new Date().toISOString(), workers, ...(extended.length > 0 ? { extended } : {}) });
    await saveManifest(runDir, manifest);
    const tasks = planStudy(options.config);
    const total = tasks.reduce((s, t) => s + t.cost, 0);
    const finished = new Set<string>();
    const ran: string[] = [];
    const skipped: string[] = [];
    const partial = new Map<string, number>();
    let doneCost = 0;
    const report = () => options.onProgress?.({
      done: doneCost + [...partial.values()].reduce((a, b) => a + b, 0), total,
      finishedTasks: finished.size, totalTasks: tasks.length, running: [...partial.keys()],
    });

    for (const task of await keepVerified(runDir, tasks, manifest)) {
      finished.add(task.id);
      skipped.push(task.id);
      doneCost += task.cost;
      options.onTask?.(task.id, 'skipped', 0);
    }
    report();

    let manifestWrites = Promise.resolve();
    const save = () => {
      manifestWrites = manifestWrites.then(() => saveManifest(runDir, manifest));
      return manifestWrites;
    };
    const record = async (task: StudyTask, wallSeconds: number, attempts: number) => {
      manifest.tasks[task.id] = {
        kind: task.kind, wallSeconds, finishedAt: new Date().toISOString(), inputs: inputsDigest(task, manifest.tasks), outputs: await hashOutputs(runDir, task),
        ...(attempts > 1 ? { attempts } : {}),
      };
      delete manifest.unfinished?.[task.id];
      await save();
    };

    const pool = new Piscina<WorkerRequest, WorkerReply>({
      filename: new URL('./task-worker.js', import.meta.url).href, minThreads: 0, maxThreads: workers, idleTimeout: 1000,
    });
    const runOne = async (task: StudyTask): Promise<void> => {
      const started = Date.now();
      // Earlier attempts' time (a killed run's), kept up to date while this one runs: at most a heartbeat is lost.
      const earlier = manifest.unfinished?.[task.id] ?? { seconds: 0, attempts: 0 };
      const beat = () => {
        manifest.unfinished = { ...manifest.unfinished, [task.id]: { seconds: earlier.seconds + (Date.now() - started) / 1000, attempts: earlier.attempts + 1 } };
        return save();
      };
      await beat();
      const heartbeat = setInterval(() => void beat(), HEARTBEAT_MS);
      partial.set(task.id, 0);
      report();
      const onProgress = (d: number, t: number) => {
        if (t > 0) partial.set(task.id, task.cost * Math.min(1, d / t));
        report();
      };
      try {
        // Generation has its own worker pool and the report is light: both run on this thread.
        if (task.kind === 'generate' || task.kind === 'report') {
          await executeTask(task, { runDir, config: options.config, threads: workers, onProgress });
        } else {
          const { port1, port2 } = new MessageChannel();
          port1.on('message', (m: { done: number; total: number }) => onProgress(m.done, m.total));
          const reply = await pool.run({ task, runDir, config: options.config, port: port2 }, { transferList: [port2] }).finally(() => port1.close());
          if (!reply.ok) throw reply.user ? new UserError(`${task.id}: ${reply.message}`) : new Error(`${task.id}: ${reply.message}`);
        }
      } catch (err) {
        clearInterval(heartbeat);
        await beat(); // a failed attempt's time counts when the task is run again
        throw err;
      }
      clearInterval(heartbeat);
      const wall = earlier.seconds + (Date.now() - started) / 1000;
      await record(task, wall, earlier.attempts + 1);
      partial.delete(task.id);
      finished.add(task.id);
      ran.push(task.id);
      doneCost += task.cost;
      options.onTask?.(task.id, 'done', wall);
      report();
    };

    try {
      const running = new Map<string, Promise<void>>();
      let failure: unknown = null;
      for (;;) {
        const ready = tasks
          .filter((t) => !finished.has(t.id) && !running.has(t.id) && t.deps.every((d) => finished.has(d)))
          .sort((a, b) => b.cost - a.cost);
        while (failure === null && running.size < workers && ready.length > 0) {
          const task = ready.shift()!;
          running.set(task.id, runOne(task).catch((err: unknown) => {
            failure ??= err;
          }).finally(() => running.delete(task.id)));
        }
        if (running.size === 0) break;
        await Promise.race(running.values());
      }
      if (failure !== null) throw failure;
      const missing = tasks.filter((t) => !finished.has(t.id)).map((t) => t.id);
      if (missing.length > 0) throw new Error(`study tasks never became ready: ${missing.slice(0, 5).join(', ')}`);
    } finally {
      await pool.destroy();
      await manifestWrites;
    }
    return { manifest, ran, skipped, reportIndex: join(runDir, REPORT_DIR, 'index.html'), wallSeconds: (Date.now() - t0) / 1000 };
  } finally {
    await release();
  }
}
