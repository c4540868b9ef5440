// The study: the paper's whole workflow (fig. 2(A)) as a resumable task graph, run by a local scheduler or on a queue.
export {
  STUDY_PROFILES, STUDY_ARCHS, BRANCH_ARCHS, ALL_METHODS, studyProfile, studyConfig, readStudyConfig,
  type StudyProfile, type StudyArch, type BranchArch, type StudyConfig, type StudyOverrides, type HyperOverrides,
} from './profiles.js';
export {
  planStudy, studyModels, methodsFor, checkSamples, hyperOf, specOf, modelDir, evalFile, explainDir, sanityDir, conditioningDir, DATASET_DIR, REPORT_DIR,
  type StudyTask, type StudyModel, type TaskKind,
} from './plan.js';
export { executeTask, outputFiles, type TaskContext } from './tasks.js';
export { packPretrained, pretrainedRoot, copyPretrained, type PretrainedManifest } from './pretrained.js';
export { canonicalJson } from '../io/index.js';
export { STUDY_FILE, openManifest, configDifferences, type StudyManifest, type TaskRecord } from './manifest.js';
export { runStudy, type RunStudyOptions, type StudyProgress, type StudyResult } from './scheduler.js';
export { runStudyOnQueue, runQueueWorker, queueStatus, queueRetry, queueCancel, type QueueStudyOptions, type QueueStudyResult, type QueueStatus } from './queue.js';
