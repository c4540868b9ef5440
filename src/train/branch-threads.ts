import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../io/index.js';
import type { BranchRunner, BranchSummary, BranchTask, TrainProgress } from './modes.js';
import type { Hyper } from './profiles.js';

/** What a branch thread needs besides its task: everything is re-opened there from paths. */
export interface BranchThreadSetup {
  /** The dataset folder (opened and checksum-verified by each thread). */
  dataDir: string;
  hyper: Hyper;
  checkpointEvery?: number;
  /** The backend name the caller's run records in summaries (RunOptions.backend), if any. */
  recordedBackend?: string;
}

export interface BranchWorkerData extends BranchThreadSetup {
  task: BranchTask;
  backend: string;
}

export type BranchWorkerMessage =
  | { progress: Parameters<TrainProgress> }
  | { summary: BranchSummary }
  | { error: string; userError: boolean };

/**
 * A BranchRunner that trains each branch on its own worker thread (tfjs's wasm backend computes on one
 * thread per Node thread, and branches are independent): with `concurrentBranches` n, n branches train
 * at once. Each thread loads the base model with loadModel and writes with saveModel, as the CLI does.
 */
export function branchesOnThreads(setup: BranchThreadSetup): BranchRunner {
  return (task, onProgress) => new Promise((resolve, reject) => {
    const data: BranchWorkerData = { ...setup, task, backend: tf.getBackend() };
    const worker = new Worker(new URL('./branch-worker.js', import.meta.url), { workerData: data });
    let settled = false;
    const settle = (fn: () => void) => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    worker.on('message', (message: BranchWorkerMessage) => {
      if ('progress' in message) onProgress(...message.progress);
      else if ('summary' in message) settle(() => resolve(message.summary));
      else settle(() => reject(message.userError ? new UserError(message.error) : new Error(`branch ${task.branch}: ${message.error}`)));
    });
    worker.on('error', (e) => settle(() => reject(e)));
    worker.on('exit', (code) => settle(() => reject(new Error(`branch ${task.branch}: thread exited (${code}) without a result`))));
  });
}
