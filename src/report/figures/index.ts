import type { FigureDef } from '../figure.js';
import { breakdowns } from './breakdowns.js';
import { conditioning } from './conditioning.js';
import { curves } from './curves.js';
import { fig1 } from './dataset.js';
import { depth } from './depth.js';
import { findings } from './findings.js';
import { fig10, fig6, fig7, fig8 } from './galleries.js';
import { fig9 } from './mab.js';
import { ranking } from './ranking.js';
import { sanity } from './sanity.js';
import { fig3a, fig3b, fig3c } from './recall-precision.js';
import { fig4 } from './roc.js';
import { table1 } from './training-table.js';

/**
 * Every figure of the report, in page order. A figure is one file exporting a FigureDef; adding one is one
 * line here.
 */
export const FIGURES: readonly FigureDef[] = [
  fig1, table1, findings, ranking, fig3a, fig3b, fig3c, fig4, fig6, fig7, fig8, fig9, fig10, breakdowns, sanity, conditioning, depth, curves,
];
