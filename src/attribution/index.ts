// Attribution methods with Captum's semantics (spec §3.1) and the mabCAM decode (§4.3).
export type { Attribution, AttributeOptions, AttributionMethod } from './types.js';
export { getMethod, methodNames, nullExplainerNames, resolveMethods } from './registry.js';
export { predictedClasses } from './common.js';
export { guidedBackpropRule, deconvolutionRule, DeepLiftRescaleRule, DEEPLIFT_EPS } from './rules.js';
export { gaussLegendre01 } from './gauss-legendre.js';
export { layerGradCam, nearestIndices } from './guided-gradcam.js';
export { MAB_BAND_VALUES } from './mab.js';
export {
  explainDataset, explainConfig, runExplainTask, attributionFile, ATTRIBUTIONS_DIR,
  type ExplainOptions, type ExplainConfig, type ExplainResult, type ExplainProgress,
} from './explain.js';
export { scoreAttributions, paperPresets, type ScoreAttributionsOptions } from './explain-score.js';
export { runConditioning, oneUlpPerturbation, MOVE_TOLERANCE, DOMINATED_SHARE, type ConditioningOptions, type ConditioningResult, type ConditioningRow } from './conditioning.js';
export { runSanity, randomisableLayers, depthsToShow, type SanityOptions, type SanityResult, type SanityStep, type SanityMode } from './sanity.js';
