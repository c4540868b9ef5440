// Five-band scoring (spec §3.2–3.7): plain arrays in, scores out; no tfjs.
export {
  PRESETS, GROUND_TRUTH_THRESHOLDS, presetSetting, thresholdSweep, validateSetting,
  type ScoreSetting, type Thresholds, type ChannelAdjustment,
} from './settings.js';
export { adjustHeatmap, type Degeneracy, type HeatmapData } from './adjust.js';
export { band, toTruthBands, type TruthData } from './bands.js';
export { FivebandScorer, EPS, type SampleScores } from './fiveband.js';
export {
  scoreHeatmaps, findNonFiniteSamples, defaultWorkerCount, createScoringPool,
  type ScoringPool, type HeatmapBatch, type TruthBatch, type ScoreOptions,
} from './batch.js';
export {
  summariseSample, summariseMethod, rocPoints, SUMMARY_COLUMNS, isNullExplainer, isReferenceMap, GROUND_TRUTH_METHOD, skillOverBestNull,
  type SampleSummary, type SampleLabels, type MethodSummary, type GroupStatistics, type SkillOverNull,
} from './aggregate.js';
export { METRICS, REGION_SUFFIXES, resolveMetrics, type Metric, type MetricContext } from './metrics/index.js';
export { npMean, npStd, pairwiseSum, argmax } from './numpy.js';
export { csvField, csvFloat, csvLine, pythonFloat } from './csv.js';
export {
  writeOutputs, formatSummaryTable, methodFiles,
  type ScoreRun, type OutputOptions, type ScoreSummaryFile,
} from './outputs.js';
export {
  readHeatmaps, readHeatmapFile, openHeatmapFile, openTruthFile, readTruthFile, readDatasetTruth, type HeatmapFileInfo, readTensorFile, readIdsFile, readLabelsFile, parseCsv, parseHeatmapArgument, tensorFilesAt,
} from './inputs.js';
export {
  runScore, degenerateOf, degenerateNote, listIds,
  type RunScoreOptions, type RunScoreResult, type HeatmapSource, type TruthSource,
} from './run.js';
export {
  averageRanks, bootstrapMeanInterval, compareMethods, holmAdjust, kendallW, normalCdf, percentileOfSorted, wilcoxonSignedRank,
  type MethodValues, type StatisticsFile, type StatisticsOptions, type WilcoxonResult,
} from './statistics.js';
export { spearman, ssim } from './similarity.js';
