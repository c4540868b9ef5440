import type { MessagePort } from 'node:worker_threads';
import { UserError } from '../io/index.js';
import { executeTask } from './tasks.js';
import type { StudyTask } from './plan.js';
import type { StudyConfig } from './profiles.js';

export interface WorkerRequest {
  task: StudyTask;
  runDir: string;
  config: StudyConfig;
  port: MessagePort;
}

/** What a worker thread answers: errors travel as text (a UserError stays a one-line error). */
export type WorkerReply = { ok: true } | { ok: false; message: string; user: boolean };

/** Piscina entry: runs one study task on this thread, posting its progress to `port`. */
export default async function run({ task, runDir, config, port }: WorkerRequest): Promise<WorkerReply> {
  try {
    await executeTask(task, { runDir, config, threads: 1, onProgress: (done, total) => port.postMessage({ done, total }) });
    return { ok: true };
  } catch (err) {
    return { ok: false, message: err instanceof Error ? (err instanceof UserError ? err.message : err.stack ?? err.message) : String(err), user: err instanceof UserError };
  } finally {
    port.close();
  }
}
