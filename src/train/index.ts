// Training: PyTorch-semantics Adam, losses, data feeding (§2.3), the three training modes and evaluation.
export { Adam, type AdamOptions, type AdamState } from './adam.js';
export { crossEntropy, mabLoss, type MabLoss } from './losses.js';
export { makeBatch, disposeBatch, type Batch, type Shard, type ShardSet, type TrainingData } from './data.js';
export { evaluate, type Evaluation } from './evaluate.js';
export { trainStep, type StepLosses } from './step.js';
export {
  trainContinuous, trainBranch, modelStore, trainBranches, trainBranchOnThisThread, trainMab, branchSeed, branchLearningRate,
  type BranchRunner, type BranchTask, type BranchesOptions, type ModelStore, type RunOptions, type TrainProgress, type ContinuousSummary, type BranchSummary, type MabSummary,
} from './modes.js';
export { hyperFor, defaultMode, resolveHyper, trainingSpec, type Hyper, type HyperOverrides, type Mode, type Profile } from './profiles.js';
export { trainingDataOf, shardSetOf, withShuffledLabels } from './dataset.js';
export { StepRunner } from './parallel.js';
export { branchesOnThreads, type BranchThreadSetup } from './branch-threads.js';
export {
  runTraining, evaluateModel,
  type TrainRunOptions, type TrainRunResult, type EvaluateModelOptions, type ModelEvaluation,
} from './run.js';
