import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { GROUND_TRUTH_METHOD, isNullExplainer } from '../scoring/index.js';

/** A Vega-Lite specification (the report's charts are all written as these). */
export type ChartSpec = TopLevelSpec;

/** The report's look, shared by every chart: white background, plain fonts, no actions, no external URLs. */
const CONFIG = {
  background: 'white',
  font: 'DejaVu Sans, Arial, Helvetica, sans-serif',
  view: { stroke: '#ccc' },
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#eee' },
  legend: { labelFontSize: 11, titleFontSize: 12, symbolLimit: 0, symbolOpacity: 1, labelLimit: 320 },
  header: { labelFontSize: 12, titleFontSize: 12 },
  title: { fontSize: 13, anchor: 'start' },
} as const;

/** Colours of the attribution methods, fixed so that a method has the same colour in every chart. */
export const METHOD_COLOURS: Readonly<Record<string, string>> = {
  Saliency: '#d62728',
  IntegratedGradients: '#8c564b',
  InputXGradient: '#bcbd22',
  DeepLift: '#1f77b4',
  GuidedBackprop: '#2ca02c',
  GuidedGradCam: '#9467bd',
  Deconvolution: '#ff7f0e',
  GradientShap: '#17becf',
  DeepLiftShap: '#393b79',
  mab: '#e377c2',
  // Reference maps in greys (chance levels) and black (the ground truth): beside the methods, never mistaken for one.
  NullUniform: '#c7c7c7',
  NullGaussian: '#a8a8a8',
  NullEdges: '#8a8a8a',
  NullBlob: '#6b6b6b',
  [GROUND_TRUTH_METHOD]: '#111111',
};
const EXTRA_COLOURS = ['#637939', '#8c6d31', '#843c39', '#7b4173', '#3182bd', '#31a354', '#756bb1', '#e7ba52'];
const EXTRA_GREYS = ['#b5b5b5', '#969696', '#7d7d7d'];

/** A colour scale for `methods` (known methods keep their colours; others get further colours in order, other nulls greys). */
export function methodColourScale(methods: readonly string[]): { domain: string[]; range: string[] } {
  let extra = 0;
  let grey = 0;
  return {
    domain: [...methods],
    range: methods.map((m) => METHOD_COLOURS[m]
      ?? (isNullExplainer(m) ? EXTRA_GREYS[grey++ % EXTRA_GREYS.length]! : EXTRA_COLOURS[extra++ % EXTRA_COLOURS.length]!)),
  };
}

/** A rendered chart: the SVG text and its PNG twin (2× resolution, for slides and papers). */
export interface RenderedChart {
  svg: string;
  png: Uint8Array;
  width: number;
  height: number;
}

/**
 * Compiles a Vega-Lite spec with vega-lite, renders it headless to SVG with vega (no browser, no canvas:
 * text is measured by vega's estimate, so the output is the same on every machine) and rasterises the SVG
 * to PNG with resvg.
 */
export async function renderChart(spec: ChartSpec): Promise<RenderedChart> {
  const withConfig = { ...spec, config: { ...CONFIG, ...(spec as { config?: object }).config } } as TopLevelSpec;
  const compiled = compile(withConfig).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    const svg = await view.toSVG();
    const resvg = new Resvg(svg, {
      fitTo: { mode: 'zoom', value: 2 },
      background: 'white',
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans' },
    });
    const image = resvg.render();
    const png = new Uint8Array(image.asPng());
    const size = /<svg[^>]*\swidth="([\d.]+)"[^>]*\sheight="([\d.]+)"/.exec(svg);
    return { svg, png, width: Number(size?.[1] ?? 0), height: Number(size?.[2] ?? 0) };
  } finally {
    view.finalize();
  }
}
