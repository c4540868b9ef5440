// Shared by the queue tests and bench:queue: a loopback port for a Redis of their own, and a study small enough
// that the engine's overhead shows.
import { createServer } from 'node:net';
import { studyProfile, type StudyConfig } from '../../src/study/index.js';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** One small AlexNet and its branch, two methods on two test shards: ten tasks, seconds each. */
export function tinyQueueStudy(): StudyConfig {
  const config = studyProfile('quick', 7, 'wasm');
  config.archs = ['alexnet'];
  config.methods = ['Saliency', 'NullUniform'];
  delete config.sanity;
  delete config.conditioning;
  config.dataset = { size: 64, classes: 10, shards: { train: 2, val: 1, test: 2 }, perShard: 6 };
  config.branches = 1;
  config.pretrained = null;
  config.hyper = { alexnet: { inputSize: 64, width: 0.0625, epochs: 1, branchEpochs: 1, lrDecayEpoch: null, lrWarmup: 0, batchSize: 4 } };
  return config;
}
