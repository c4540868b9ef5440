import { readdir, realpath } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { Job, Queue, QueueEvents, Worker, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { Piscina } from 'piscina';
import { UserError, ensure, lockFolder, makeFolder, removeStaleTemps, sha256 } from '../io/index.js';
import { hashOutputs, inputsDigest, keepVerified, listOutputs, openManifest, saveManifest, type StudyManifest } from './manifest.js';
import { planStudy, REPORT_DIR, type StudyTask } from './plan.js';
import type { StudyConfig } from './profiles.js';
import type { StudyProgress, StudyResult } from './scheduler.js';
import type { WorkerReply, WorkerRequest } from './task-worker.js';

/**
 * The study on a BullMQ queue (Redis): one job per task, run by `fiveband worker` processes on any machine that
 * sees the run folder. BullMQ does the queueing, leases (a dead worker's task returns to the queue), retries with
 * backoff and progress; the coordinator (`study --queue`) adds a task's job once its dependencies are recorded —
 * the local scheduler's rule — and alone writes the manifest, from the output checksums each job returns.
 */
export const QUEUE_NAME = 'fiveband-study';

/** What a job carries: everything a worker needs besides the run folder it reads and writes. */
export interface QueueJobData {
  runDir: string;
  config: StudyConfig;
  task: StudyTask;
  timeoutSeconds: number;
}

/** What a job returns: its outputs' sha256 (the manifest's record), its time and who ran it. */
export interface QueueJobResult {
  outputs: Record<string, string>;
  seconds: number;
  worker: string;
}

/** Runs per task before it counts as failed (a killed worker's lost lease does not count, see `maxStalledCount`). */
const ATTEMPTS = 3;
/** First retry after this, doubling each time. */
const BACKOFF_MS = 2000;
/** How often the coordinator looks at the queue when no job event wakes it. */
const POLL_MS = 1000;
/** How long a command waits for Redis at start before it says it cannot reach it. */
const CONNECT_TIMEOUT_MS = 5000;

/** `redis://[user:password@]host[:port][/db]` (or rediss:// for TLS) as ioredis options; anything else is one line, exit 2. */
export function queueConnection(url: string): ConnectionOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UserError(`--queue must be a redis://host:port URL, got "${url}"`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') throw new UserError(`--queue must be a redis://host:port URL, got "${url}"`);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db)) throw new UserError(`--queue: the path of "${url}" must be a database number`);
  return {
    host: parsed.hostname || '127.0.0.1',
    port: parsed.port ? Number(parsed.port) : 6379,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(db ? { db: Number(db) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    // Commands wait while Redis is away (a restart mid-run) instead of failing: BullMQ's advice for workers.
    maxRetriesPerRequest: null,
  };
}

/** The URL without its password, as the manifest records it. */
function shownUrl(url: string): string {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return parsed.toString();
}

/** The queue, once Redis answers; a one-line error (exit 2) when it refuses or does not answer within CONNECT_TIMEOUT_MS. */
export async function openQueue(url: string): Promise<Queue<QueueJobData, QueueJobResult>> {
  const connection = queueConnection(url);
  // A probe that gives up at once: BullMQ's own connection would wait for Redis forever (right for a restart mid-run).
  const probe = new Redis({ ...(connection as RedisOptions), lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: CONNECT_TIMEOUT_MS });
  let cause = '';
  probe.on('error', (err: Error) => {
    cause ||= err.message;
  });
  try {
    await probe.connect();
    await probe.ping();
  } catch (err) {
    throw new UserError(`cannot reach Redis at ${shownUrl(url)} (${cause || (err as Error).message})`);
  } finally {
    probe.disconnect();
  }
  return new Queue<QueueJobData, QueueJobResult>(QUEUE_NAME, { connection });
}

/** A job's id: the run (its folder), the task, and the digest of its inputs (changed inputs make a new job). */
function jobId(runKey: string, task: StudyTask, inputs: string): string {
  return `${runKey}/${task.id}/${inputs.slice(0, 16)}`;
}

/**
 * Whether the files a finished job reported are the ones its declared outputs hold now (a folder deleted or emptied
 * since makes it run again). Their checksums were taken by the worker; the next start verifies them like any record.
 */
async function outputsPresent(runDir: string, task: StudyTask, result: QueueJobResult): Promise<boolean> {
  const now = await listOutputs(runDir, task).catch(() => null);
  return now !== null && JSON.stringify(now) === JSON.stringify(Object.keys(result.outputs));
}

export interface QueueStudyOptions {
  out: string;
  config: StudyConfig;
  /** redis://host:port of the queue. */
  queue: string;
  extend?: boolean;
  /** A task running longer than this is stopped and retried (seconds). */
  taskTimeout?: number;
  onProgress?: (progress: StudyProgress) => void;
  /** Once, when the run folder is being written by another coordinator and this one only follows the run. */
  onAttach?: () => void;
  /** One line when Redis goes away or returns. */
  onNotice?: (line: string) => void;
}

export interface QueueStudyResult extends StudyResult {
  /** Distinct queue workers that ran this run's tasks (recorded in the manifest, all invocations). */
  workers: number;
  /** True when another coordinator held the run folder for all of it and this one followed. */
  attached: boolean;
}

const DEFAULT_TASK_TIMEOUT_S = 24 * 3600;

/**
 * Runs a study on a queue: verifies what the manifest holds (like the local scheduler), then adds each task's job
 * as soon as its dependencies are recorded, records each finished job, and returns when the report is recorded.
 * Run again (or from a second shell) it attaches: job ids are derived from the run and the task's inputs, so
 * nothing is added twice; a second coordinator only follows until the folder's writer is gone.
 */
export async function runStudyOnQueue(options: QueueStudyOptions): Promise<QueueStudyResult> {
  const t0 = Date.now();
  const timeoutSeconds = options.taskTimeout ?? DEFAULT_TASK_TIMEOUT_S;
  ensure(Number.isFinite(timeoutSeconds) && timeoutSeconds > 0, `--task-timeout must be a positive number of seconds, got ${timeoutSeconds}`);
  await makeFolder(options.out);
  const runDir = await realpath(options.out);
  await openManifest(runDir, options.config, await readdir(runDir), options.extend);
  const queue = await openQueue(options.queue);
  const events = new QueueEvents(QUEUE_NAME, { connection: queueConnection(options.queue) });
  let wake: (() => void) | null = null;
  const nudge = () => wake?.();
  events.on('completed', nudge);
  events.on('failed', nudge);
  let redisDown = false;
  const onRedisError = (err: Error) => {
    if (!redisDown) options.onNotice?.(`Redis unreachable (${err.message}); waiting for it to return`);
    redisDown = true;
  };
  queue.on('error', onRedisError);
  events.on('error', onRedisError);
  // The folder's writer holds its lock for the whole run; without it this coordinator follows (adds and writes nothing).
  const tryLock = async () => lockFolder(runDir).catch((err: unknown) => {
    if (err instanceof UserError) return null;
    throw err;
  });
  let release = await tryLock();
  const attachedAtStart = release === null;
  if (attachedAtStart) options.onAttach?.();
  try {
    await queue.resume(); // a cancelled queue runs again when a study is started on it
    const runKey = sha256(runDir).slice(0, 16);
    let manifest!: StudyManifest;
    let finished = new Set<string>();
    let skipped: string[] = [];
    const tasks = planStudy(options.config);
    const total = tasks.reduce((s, t) => s + t.cost, 0);
    // (Re)reads the manifest and verifies its records, as the local scheduler does; the writer records its session.
    const load = async () => {
      const opened = await openManifest(runDir, options.config, await readdir(runDir), options.extend);
      manifest = opened.manifest;
      skipped = (await keepVerified(runDir, tasks, manifest)).map((t) => t.id);
      finished = new Set(skipped);
      for (const id of skipped) ran.delete(id);
      if (release !== null) {
        // What killed workers left half-written, as the local scheduler clears it; only while none of this run's
        // tasks runs (a temp file names its writer's pid, which says nothing about a process on another machine).
        if (!(await queue.getActive()).some((job) => job.data.runDir === runDir)) await removeStaleTemps(runDir, 6);
        manifest.sessions.push({
          startedAt: new Date().toISOString(), workers: 0, queue: shownUrl(options.queue), ...(opened.extended.length > 0 ? { extended: opened.extended } : {}),
        });
        await saveManifest(runDir, manifest);
      }
    };
    // Recorded by this coordinator; a task it recorded while following and verified when it took over counts as kept.
    const ran = new Set<string>();
    await load();
    for (;;) {
      if (release === null && (release = await tryLock()) !== null) await load(); // the writer is gone: take over
      const partial = new Map<string, number>();
      try {
        if (await queue.isPaused()) throw new UserError(`the queue was cancelled (fiveband queue cancel); ${release ? 'run this command again to resume' : 'its writer stops'}`, 1);
        let changed = false;
        for (const task of tasks) {
          if (finished.has(task.id) || !task.deps.every((d) => finished.has(d))) continue;
          const inputs = inputsDigest(task, manifest.tasks);
          const id = jobId(runKey, task, inputs);
          const job = await Job.fromId<QueueJobData, QueueJobResult>(queue, id);
          if (!job) {
            if (release !== null) {
              const opts: JobsOptions = {
                jobId: id, attempts: ATTEMPTS, backoff: { type: 'exponential', delay: BACKOFF_MS },
                // The longest ready task first, as the local scheduler picks (1 is BullMQ's highest priority).
                priority: Math.max(1, 2_000_000 - Math.round(task.cost * 100)),
              };
              await queue.add(task.kind, { runDir, config: manifest.config, task, timeoutSeconds }, opts);
            }
            continue;
          }
          const state = await job.getState();
          // A job read before it settled still holds its earlier attempts and no result (the state is read after
          // it): read a completed or failed one again. Under load a failure was otherwise reported one attempt short
          // (seen in the queue test), and a completed task's missing result threw as if Redis had gone away.
          const settled = state === 'completed' || state === 'failed' ? (await Job.fromId<QueueJobData, QueueJobResult>(queue, id)) ?? job : job;
          if (state === 'completed') {
            const result = settled.returnvalue;
            if (await outputsPresent(runDir, task, result)) {
              manifest.tasks[task.id] = {
                kind: task.kind, wallSeconds: result.seconds, finishedAt: new Date(settled.finishedOn ?? Date.now()).toISOString(), inputs, outputs: result.outputs,
                ...(settled.attemptsMade > 1 ? { attempts: settled.attemptsMade } : {}), worker: result.worker,
              };
              delete manifest.unfinished?.[task.id];
              finished.add(task.id);
              ran.add(task.id);
              changed = true;
            } else if (release !== null) {
              await settled.remove(); // its files changed or went since: run it again
            }
          } else if (state === 'failed') {
            const reason = (settled.failedReason ?? 'unknown error').split('\n')[0];
            throw new UserError(`${task.id} failed after ${settled.attemptsMade} attempts: ${reason}; fix the cause, then \`fiveband queue retry --queue ${shownUrl(options.queue)}\` and run this command again`, 1);
          } else if (state === 'active' && typeof job.progress === 'object' && job.progress !== null) {
            const { done, total: of } = job.progress as { done?: number; total?: number };
            if (typeof done === 'number' && typeof of === 'number' && of > 0) partial.set(task.id, task.cost * Math.min(1, done / of));
            else partial.set(task.id, 0);
          } else if (state === 'active') {
            partial.set(task.id, 0);
          }
        }
        if (changed && release !== null) await saveManifest(runDir, manifest);
        if (redisDown) options.onNotice?.('Redis is back');
        redisDown = false;
      } catch (err) {
        if (err instanceof UserError) throw err;
        // Redis went away mid-sync (ioredis reconnects by itself): try again on the next tick.
        onRedisError(err instanceof Error ? err : new Error(String(err)));
      }
      const done = tasks.filter((t) => finished.has(t.id)).reduce((s, t) => s + t.cost, 0) + [...partial.values()].reduce((a, b) => a + b, 0);
      options.onProgress?.({ done, total, finishedTasks: finished.size, totalTasks: tasks.length, running: [...partial.keys()] });
      if (finished.has('report')) {
        // A follower whose writer died before recording the last tasks records them itself.
        if (release !== null || (release = await tryLock()) === null) break;
        await load();
        continue;
      }
      await new Promise<void>((r) => {
        const timer = setTimeout(r, POLL_MS);
        wake = () => {
          clearTimeout(timer);
          r();
        };
      });
      wake = null;
    }
    const workers = new Set(Object.values(manifest.tasks).map((t) => t.worker).filter((w) => w !== undefined)).size;
    return {
      manifest, ran: [...ran], skipped, reportIndex: join(runDir, REPORT_DIR, 'index.html'), wallSeconds: (Date.now() - t0) / 1000,
      workers, attached: attachedAtStart && release === null,
    };
  } finally {
    await release?.();
    await events.close().catch(() => {});
    await queue.close().catch(() => {});
  }
}

export interface QueueWorkerOptions {
  queue: string;
  /** Tasks this worker runs at once, each on its own thread. */
  concurrency: number;
  /** Seconds a task's lease lasts without renewal: a dead worker's task goes back to the queue after it. */
  lease: number;
  onEvent?: (line: string) => void;
  /** Resolves when the worker should stop taking tasks (it finishes those it runs). */
  stop: Promise<void>;
}

/** `fiveband worker`: takes study tasks from the queue until `stop`, each on a worker thread of its own. */
export async function runQueueWorker(options: QueueWorkerOptions): Promise<{ ran: number; failed: number }> {
  ensure(Number.isInteger(options.concurrency) && options.concurrency >= 1, `--concurrency must be a positive integer, got ${options.concurrency}`);
  ensure(Number.isFinite(options.lease) && options.lease >= 1, `--lease must be at least 1 second, got ${options.lease}`);
  const probe = await openQueue(options.queue); // one line, exit 2, when Redis cannot be reached
  await probe.close();
  const name = `${hostname()}:${process.pid}`;
  const log = (line: string) => options.onEvent?.(line);
  const pool = new Piscina<WorkerRequest, WorkerReply>({
    filename: new URL('./task-worker.js', import.meta.url).href, minThreads: 0, maxThreads: options.concurrency, idleTimeout: 1000,
  });
  let ran = 0;
  let failed = 0;
  // Task threads trust the backend their main thread tested: the native self-test runs here, before the first native task.
  let nativeTested: Promise<unknown> | undefined;
  const worker = new Worker<QueueJobData, QueueJobResult>(QUEUE_NAME, async (job) => {
    const { runDir, config, task, timeoutSeconds } = job.data;
    const started = Date.now();
    if (config.backend === 'native') {
      nativeTested ??= import('../compute/index.js').then(({ initBackend }) => initBackend('native'));
      await nativeTested;
    }
    log(`start ${task.id} (${resolve(runDir)}, attempt ${job.attemptsMade + 1})`);
    const { port1, port2 } = new MessageChannel();
    let lastReport = 0;
    port1.on('message', (m: { done: number; total: number }) => {
      if (Date.now() - lastReport < 1000 && m.done < m.total) return;
      lastReport = Date.now();
      void job.updateProgress(m).catch(() => {});
    });
    let reply: WorkerReply;
    try {
      reply = await pool.run({ task, runDir, config, port: port2 }, { transferList: [port2], signal: AbortSignal.timeout(timeoutSeconds * 1000) });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw new Error(`${task.id}: stopped after the task timeout of ${timeoutSeconds} s`);
      throw err;
    } finally {
      port1.close();
    }
    // Every failure is retried, one-line errors too: a task's folder lock held by a worker whose lease lapsed (Redis
    // away longer than --lease) clears when that worker finishes.
    if (!reply.ok) throw new Error(reply.message);
    const outputs = await hashOutputs(runDir, task);
    return { outputs, seconds: (Date.now() - started) / 1000, worker: name };
  }, {
    connection: queueConnection(options.queue), concurrency: options.concurrency,
    lockDuration: options.lease * 1000, stalledInterval: Math.max(500, (options.lease * 1000) / 2),
    // A task whose worker died is given back this many times before it counts as failed.
    maxStalledCount: ATTEMPTS,
  });
  let redisDown = false;
  worker.on('error', (err) => {
    if (!redisDown) log(`Redis unreachable (${err.message}); waiting for it to return`);
    redisDown = true;
  });
  worker.on('active', () => {
    if (redisDown) log('Redis is back');
    redisDown = false;
  });
  worker.on('completed', (job, result) => {
    ran++;
    log(`done ${job.data.task.id} in ${result.seconds.toFixed(1)} s`);
  });
  worker.on('failed', (job, err) => {
    failed++;
    if (job) log(`failed ${job.data.task.id} (attempt ${job.attemptsMade}): ${err.message.split('\n')[0]}`);
  });
  await options.stop;
  await worker.close();
  await pool.destroy();
  return { ran, failed };
}

/** Counts of the queue's jobs by state, whether it is paused, and the failed tasks with their first error line. */
export interface QueueStatus {
  paused: boolean;
  counts: Record<string, number>;
  failed: Array<{ task: string; run: string; attempts: number; error: string }>;
}

export async function queueStatus(url: string): Promise<QueueStatus> {
  const queue = await openQueue(url);
  try {
    const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed', 'paused');
    const failed = (await queue.getFailed(0, 99)).map((job) => ({
      task: String((job.data as QueueJobData).task?.id), run: String((job.data as QueueJobData).runDir), attempts: job.attemptsMade,
      error: (job.failedReason ?? '').split('\n')[0] ?? '',
    }));
    return { paused: await queue.isPaused(), counts, failed };
  } finally {
    await queue.close();
  }
}

/** Failed tasks go back to the queue (and a cancelled queue runs again); returns how many. */
export async function queueRetry(url: string): Promise<number> {
  const queue = await openQueue(url);
  try {
    const failed = await queue.getFailedCount();
    await queue.retryJobs({ state: 'failed' });
    await queue.resume();
    return failed;
  } finally {
    await queue.close();
  }
}

/**
 * Stops the queue's runs: workers take no more tasks (those running finish), waiting and delayed tasks are removed,
 * and coordinators stop; `fiveband study --queue` on a run starts it again. Returns how many tasks were removed.
 */
export async function queueCancel(url: string): Promise<number> {
  const queue = await openQueue(url);
  try {
    await queue.pause();
    const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'paused');
    await queue.drain(true);
    return Object.values(counts).reduce((a, b) => a + b, 0);
  } finally {
    await queue.close();
  }
}
