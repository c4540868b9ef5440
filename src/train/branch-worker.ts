// A thread of branchesOnThreads: trains one branch and reports progress, then its summary.
import { parentPort, workerData } from 'node:worker_threads';
import { openDataset } from '../data/index.js';
import { UserError } from '../io/index.js';
import { initBackend, type BackendName } from '../compute/index.js';
import type { BranchWorkerData, BranchWorkerMessage } from './branch-threads.js';
import { trainingDataOf } from './dataset.js';
import { modelStore, trainBranchOnThisThread } from './modes.js';

const setup = workerData as BranchWorkerData;
const post = (message: BranchWorkerMessage) => parentPort!.postMessage(message);
try {
  await initBackend(setup.backend as BackendName);
  const data = trainingDataOf(await openDataset(setup.dataDir));
  const summary = await trainBranchOnThisThread(setup.task, {
    data, hyper: setup.hyper, seed: setup.task.seed, out: setup.task.out, store: modelStore,
    ...(setup.recordedBackend === undefined ? {} : { backend: setup.recordedBackend }),
    ...(setup.checkpointEvery === undefined ? {} : { checkpointEvery: setup.checkpointEvery }),
    onProgress: (...progress) => post({ progress }),
  });
  post({ summary });
} catch (e) {
  post({ error: e instanceof Error ? e.message : String(e), userError: e instanceof UserError });
}
