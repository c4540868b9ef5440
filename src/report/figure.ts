import type { ChartSpec } from './chart.js';
import type { Raster } from './images.js';
import type { RunFolder } from './run.js';

/** A table cell: text (numbers are formatted by the page), optionally with a value to sort by. */
export type Cell = string | number | null | { text: string; sort?: number | string; className?: string };

/** One piece of a figure's content, in page order. */
export type Block =
  /** A Vega-Lite chart: written as figures/<name>.svg and its PNG twin figures/<name>.png. */
  | { kind: 'chart'; name: string; spec: ChartSpec; alt: string }
  /** An HTML table (sortable by clicking a header when `sortable`; readable without script). */
  | { kind: 'table'; id?: string; title?: string; sortable?: boolean; columns: string[]; rows: Cell[][] }
  /**
   * An image gallery: one PNG tile per cell in images/, laid out as an HTML table with column headers and
   * row labels, plus the whole grid as one PNG (figures/<name>.png) for slides.
   */
  | { kind: 'gallery'; name: string; title?: string; columns: string[]; rows: GalleryRow[] }
  /** A ready PNG (e.g. the dataset sheet): written as images/<name>.png. */
  | { kind: 'image'; name: string; png: Uint8Array; alt: string }
  | { kind: 'paragraph'; text: string };

export interface GalleryRow {
  label: string;
  tiles: Array<Raster | null>;
}

/** What a figure shows: a caption on how to read it, its numbers (for data.json) and its blocks. */
export interface FigureContent {
  caption: string;
  /** Short notes under the caption (e.g. which inputs were missing for some panels). */
  notes?: string[];
  /** Every number the figure shows; goes into data.json under the figure's id. */
  data: unknown;
  blocks: Block[];
}

/**
 * A figure of the report. `build` returns null (or throws SkipFigure with a reason) when the run lacks its
 * inputs; the page then shows the title with a note instead. Adding a figure = one file + one registry line.
 */
export interface FigureDef {
  id: string;
  title: string;
  /** The inputs it needs, shown when it is skipped without a more specific reason. */
  needs: string;
  build(run: RunFolder): Promise<FigureContent | null>;
}

/** Thrown by a figure's build to skip it with a specific reason. */
export class SkipFigure extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'SkipFigure';
  }
}
