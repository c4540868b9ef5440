// A piscina worker for `explainDataset`: one (shard, method) file per task; the model stays loaded between tasks.
import * as tf from '@tensorflow/tfjs-core';
import { runExplainTask, type ExplainTask, type ExplainTaskResult } from './explain.js';

tf.env().set('PROD', true); // no tfjs console banner from each worker

export default function explainTask(task: ExplainTask): Promise<ExplainTaskResult> {
  return runExplainTask(task);
}
