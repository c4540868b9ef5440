// Piscina worker: generates a run of consecutive samples of one shard straight into the shard's shared
// buffers (compiled to dist/, loaded by generate.ts); returns only their recorded variables.
import { geometryFor, type ClassCount } from './geometry.js';
import { sampleRng, Synthesiser, type SampleBatch } from './synthesise.js';

export interface ChunkTask {
  size: number;
  classes: ClassCount;
  seed: number;
  split: string;
  shard: number;
  start: number;
  count: number;
  /** The whole shard's buffers (SharedArrayBuffer-backed); samples start..start+count are written. */
  batch: SampleBatch;
}

let synthesiser: Synthesiser | null = null;

export default function generateChunk(task: ChunkTask): Record<string, unknown>[] {
  const g = geometryFor(task.size, task.classes);
  if (!synthesiser || synthesiser.geometry.size !== g.size || synthesiser.geometry.classes !== g.classes) {
    synthesiser = new Synthesiser(g);
  }
  const variables: Record<string, unknown>[] = [];
  for (let i = task.start; i < task.start + task.count; i++) {
    variables.push(synthesiser.synthesise(sampleRng(task.seed, task.split, task.shard, i), task.batch, i));
  }
  return variables;
}
