// The study report: index.html with SVG/PNG figures, galleries and data.json, rebuilt from a run folder's files alone.
export { writeReport, REPORT_FORMAT, WEAK_ACCURACY, type ReportOptions, type ReportResult } from './write.js';
export { FIGURES } from './figures/index.js';
export { SkipFigure, type FigureDef, type FigureContent, type Block, type Cell, type GalleryRow } from './figure.js';
export {
  RunFolder, inferModel, archName, sortArchs, sortMethods,
  type ModelInfo, type ScoreSet, type SampleRow, type StudyManifest, type EvalResult, type AttributionShard,
} from './run.js';
export { renderChart, methodColourScale, type ChartSpec, type RenderedChart } from './chart.js';
export { computeFindings, type Finding, type Verdict } from './figures/findings.js';
export { describeColumns, percentile, BOOTSTRAP_RESAMPLES, type MeanStat } from './stats.js';
export { divergingRaster, bandRaster, truthRaster, encodePng, BAND_RGB, TRUTH_RGB, type Raster } from './images.js';
