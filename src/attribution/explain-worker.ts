// A piscina worker for `explainDataset`: one (shard, method) file per task; the model stays loaded between tasks.
import { runExplainTask, type ExplainTask, type ExplainTaskResult } from './explain.js';

export default function explainTask(task: ExplainTask): Promise<ExplainTaskResult> {
  return runExplainTask(task);
}
