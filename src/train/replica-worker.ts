// A training thread of StepRunner: holds a replica of the model and computes the micro-batches it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import { createModel } from '../nn/index.js';
import { initBackend, type BackendName } from '../compute/index.js';
import { computeOnReplica, replicaTransferables, type ReplicaInit, type ReplicaReply, type ReplicaStep } from './parallel.js';

const init = workerData as ReplicaInit;
const port = parentPort!;
const reply = (message: ReplicaReply, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

try {
  await initBackend(init.backend as BackendName);
  // The weights are overwritten by every step's message; the seed only fills the initial values.
  const model = createModel(init.spec, 0);
  port.on('message', (step: ReplicaStep) => {
    try {
      const results = computeOnReplica(model, step, init.lambda);
      reply({ results }, replicaTransferables(results));
    } catch (e) {
      reply({ error: e instanceof Error ? e.message : String(e) });
    }
  });
  reply({ ready: true });
} catch (e) {
  reply({ error: e instanceof Error ? e.message : String(e) });
}
