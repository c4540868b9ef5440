import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { PNG } from 'pngjs';
import { makeFolder, UserError, writeFileAtomic } from '../io/index.js';
import { renderChart } from './chart.js';
import { SkipFigure, type FigureContent, type FigureDef } from './figure.js';
import { FIGURES } from './figures/index.js';
import { formatDuration } from './figures/training-table.js';
import { renderPage, type PageHeader, type PlacedBlock, type PlacedFigure } from './html.js';
import { composeGrid, encodePng } from './images.js';
import { RunFolder } from './run.js';

export const REPORT_FORMAT = 'fiveband-report/1';

export interface ReportOptions {
  /** Output folder (default `<runDir>/report`); replaced as a whole. */
  out?: string;
  /** Figures to consider (default: the registry, FIGURES). */
  figures?: readonly FigureDef[];
}

export interface ReportResult {
  /** The report folder. */
  dir: string;
  /** Path of index.html. */
  index: string;
  /** Path of data.json. */
  data: string;
  /** Ids of the figures shown, in page order. */
  figures: string[];
  /** Figures left out, with the reason shown on the page. */
  skipped: Array<{ id: string; reason: string }>;
  /** Every file written, relative to the report folder. */
  files: string[];
}

/** Models below this test accuracy get a warning: their heatmaps are scored, but say less. */
export const WEAK_ACCURACY = 0.9;

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** An existing output folder may be replaced only when it is empty or an earlier report. */
async function checkReplaceable(out: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(out);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw new UserError(`${out}: cannot use as the report folder (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  if (entries.length === 0) return;
  try {
    const data = JSON.parse(await readFile(join(out, 'data.json'), 'utf8')) as { format?: unknown };
    if (data.format === REPORT_FORMAT) return;
  } catch {
    // fall through
  }
  throw new UserError(`${out} exists and is not a fiveband report (no data.json of format ${REPORT_FORMAT}); choose an empty or new --out`);
}

/** Runs a figure's build; missing inputs and unreadable files skip the figure with a reason. */
async function buildFigure(def: FigureDef, run: RunFolder): Promise<{ content: FigureContent } | { reason: string }> {
  // Paths in reasons are relative to the run folder, so data.json does not depend on where the run lies.
  const relative = (text: string) => text.split(`${resolve(run.dir)}${sep}`).join('').split(`${run.dir}${sep}`).join('');
  try {
    const content = await def.build(run);
    return content ? { content } : { reason: `this run has no ${def.needs}.` };
  } catch (err) {
    if (err instanceof SkipFigure) return { reason: relative(err.message) };
    if (err instanceof UserError) return { reason: `its inputs could not be read: ${relative(err.message)}` };
    throw err;
  }
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return value.map((v) => describeValue(v)).join(', ');
  if (value !== null && typeof value === 'object') {
    return Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k} ${typeof v === 'object' && v !== null ? `{${describeValue(v)}}` : String(v)}`).join('; ');
  }
  return String(value);
}

/** The page header: the run's config, version, backend, seed, wall time; warnings on weak models. */
async function headerOf(run: RunFolder): Promise<{ header: PageHeader; warnings: string[]; data: Record<string, unknown> }> {
  const warnings: string[] = [];
  for (const model of run.models) {
    const result = await run.evalOf(model.key).catch(() => null);
    if (result && result.accuracy < WEAK_ACCURACY) {
      warnings.push(`${model.key}: test accuracy ${(100 * result.accuracy).toFixed(1)} % is below ${100 * WEAK_ACCURACY} % — scores of a weak model.`);
    }
  }
  const facts: Array<[string, string]> = [];
  if (run.kind === 'scores') {
    const set = run.scoreSets[0]!;
    facts.push(['folder', run.dir], ['kind', 'fiveband score output'], ['setting', set.preset], ['samples', String(set.summary.n)], ['methods', set.methods.join(', ')]);
    return {
      header: { title: `fiveband report — scores in ${basename(resolve(run.dir))}`, facts, warnings },
      warnings,
      data: { kind: 'scores', setting: set.preset, n: set.summary.n, methods: set.methods },
    };
  }
  const study = run.study!;
  const config = study.config;
  facts.push(['folder', run.dir]);
  if (study.version) facts.push(['fiveband version', study.version]);
  for (const key of ['profile', 'backend', 'seed']) if (config[key] !== undefined) facts.push([key, describeValue(config[key])]);
  for (const [key, value] of Object.entries(config)) {
    if (['profile', 'backend', 'seed', 'format'].includes(key) || value === undefined) continue;
    facts.push([key, describeValue(value)]);
  }
  if (study.machine) facts.push(['machine', `${study.machine.cpu ?? '?'}, ${study.machine.cores ?? '?'} cores`]);
  if (study.startedAt) facts.push(['started', study.startedAt]);
  const tasks = Object.values(study.tasks ?? {});
  if (tasks.length > 0) {
    const total = tasks.reduce((s, t) => s + (typeof t.wallSeconds === 'number' ? t.wallSeconds : 0), 0);
    const finished = tasks.map((t) => Date.parse(t.finishedAt ?? '')).filter(Number.isFinite);
    const started = Date.parse(study.startedAt ?? '');
    const elapsed = finished.length > 0 && Number.isFinite(started) ? (Math.max(...finished) - started) / 1000 : null;
    facts.push(['wall time', `${elapsed === null ? '' : `${formatDuration(elapsed)} from start to the last task; `}${formatDuration(total)} summed over ${tasks.length} tasks`]);
  }
  const queueWorkers = new Set(tasks.map((t) => t.worker).filter((w) => typeof w === 'string'));
  const threads = (study.sessions ?? []).map((s) => s.workers).filter((w): w is number => typeof w === 'number' && w > 0);
  const ranBy = [
    ...(queueWorkers.size > 0 ? [`${queueWorkers.size} queue worker${queueWorkers.size === 1 ? '' : 's'} (${[...new Set((study.sessions ?? []).map((s) => s.queue).filter((q) => q !== undefined))].join(', ')})`] : []),
    ...(threads.length > 0 ? [`local scheduler with ${[...new Set(threads)].join(' / ')} worker threads`] : []),
  ];
  if (ranBy.length > 0) facts.push(['ran by', ranBy.join('; ')]);
  const taskRows = Object.entries(study.tasks ?? {}).map(([id, t]) => [id, t.kind ?? null, t.worker ?? 'local', t.attempts ?? 1, typeof t.wallSeconds === 'number' ? t.wallSeconds : null]);
  return {
    header: {
      title: `fiveband study report — ${basename(resolve(run.dir))}`, facts, warnings,
      ...(taskRows.length > 0 ? { tasks: { kind: 'table' as const, sortable: true, columns: ['task', 'kind', 'worker', 'attempts', 'wall seconds'], rows: taskRows } } : {}),
    },
    warnings,
    data: { kind: 'study', format: study.format, version: study.version ?? null, config },
  };
}

/** Writes a figure's files into `dir` and returns its placed blocks. */
async function placeBlocks(content: FigureContent, dir: string, files: string[]): Promise<PlacedBlock[]> {
  const placed: PlacedBlock[] = [];
  // Plain writes: the folder is temporary and renamed into place only when complete.
  const write = async (rel: string, data: Uint8Array | string) => {
    await makeFolder(dirname(join(dir, rel)));
    await writeFile(join(dir, rel), data);
    files.push(rel);
  };
  for (const block of content.blocks) {
    if (block.kind === 'chart') {
      const chart = await renderChart(block.spec);
      const svg = `figures/${block.name}.svg`;
      const png = `figures/${block.name}.png`;
      await write(svg, chart.svg);
      await write(png, chart.png);
      placed.push({ kind: 'chart', svg, png, width: chart.width, height: chart.height, alt: block.alt });
    } else if (block.kind === 'image') {
      const src = `images/${block.name}.png`;
      await write(src, block.png);
      const { width, height } = PNG.sync.read(Buffer.from(block.png));
      placed.push({ kind: 'image', src, width, height, alt: block.alt });
    } else if (block.kind === 'gallery') {
      const rows = [];
      for (let i = 0; i < block.rows.length; i++) {
        const tiles = [];
        for (let j = 0; j < block.rows[i]!.tiles.length; j++) {
          const raster = block.rows[i]!.tiles[j];
          if (!raster) {
            tiles.push(null);
            continue;
          }
          const src = `images/${block.name}-r${i}-c${j}.png`;
          await write(src, encodePng(raster));
          tiles.push({ src, size: raster.width });
        }
        rows.push({ label: block.rows[i]!.label, tiles });
      }
      const composite = `figures/${block.name}.png`;
      await write(composite, composeGrid(block.rows.map((r) => r.tiles)));
      placed.push({ kind: 'gallery', title: block.title, composite, columns: block.columns, rows });
    } else {
      placed.push(block);
    }
  }
  return placed;
}

/** JSON with sorted-as-given keys and no NaN (written as null), newline-terminated. */
function stableJson(value: unknown): string {
  return `${JSON.stringify(value, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 1)}\n`;
}

/**
 * Rebuilds the report of a run folder (a study run or a `fiveband score` folder) from its files alone:
 * `index.html`, `data.json` (every number shown; byte-identical for identical inputs), `figures/*.svg|png`
 * and `images/*.png`. Figures whose inputs are missing are listed with the reason instead. The report is
 * written into a temporary sibling folder and renamed into place, so a partial report never looks complete.
 */
export async function writeReport(runDir: string, options: ReportOptions = {}): Promise<ReportResult> {
  const run = await RunFolder.open(runDir);
  const out = options.out ?? join(runDir, 'report');
  await checkReplaceable(out);
  const parent = dirname(resolve(out));
  await makeFolder(parent);
  const tmp = join(parent, `.${basename(resolve(out))}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const files: string[] = [];
  try {
    await mkdir(tmp);
    const { header, warnings, data: runData } = await headerOf(run);
    const placed: PlacedFigure[] = [];
    const figureData: Record<string, unknown> = {};
    const skipped: Array<{ id: string; reason: string }> = [];
    for (const def of options.figures ?? FIGURES) {
      const result = await buildFigure(def, run);
      if ('reason' in result) {
        placed.push({ def, shown: false, reason: result.reason });
        skipped.push({ id: def.id, reason: result.reason });
        continue;
      }
      const blocks = await placeBlocks(result.content, tmp, files);
      placed.push({ def, shown: true, caption: result.content.caption, notes: result.content.notes ?? [], blocks });
      figureData[def.id] = { title: def.title, data: result.content.data };
    }
    const data = {
      format: REPORT_FORMAT,
      run: runData,
      warnings,
      figures: figureData,
      skipped: Object.fromEntries(skipped.map((s) => [s.id, s.reason])),
    };
    await writeFileAtomic(join(tmp, 'data.json'), stableJson(data));
    files.push('data.json');
    await writeFileAtomic(join(tmp, 'index.html'), renderPage(header, placed));
    files.push('index.html');
    await swapInto(tmp, out);
    return {
      dir: out, index: join(out, 'index.html'), data: join(out, 'data.json'),
      figures: placed.filter((f) => f.shown).map((f) => f.def.id), skipped, files: files.sort(),
    };
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code && !(err instanceof UserError)) {
      const e = err as NodeJS.ErrnoException;
      throw new UserError(`${out}: cannot write the report (${e.code}${e.path ? ` at ${e.path}` : ''})`);
    }
    throw err;
  }
}

/** Moves the finished temporary folder to `out`, replacing an earlier report. */
async function swapInto(tmp: string, out: string): Promise<void> {
  if (!(await isDirectory(out))) {
    await rm(out, { force: true });
    await rename(tmp, out);
    return;
  }
  const old = `${tmp}-old`;
  await rename(out, old);
  await rename(tmp, out);
  await rm(old, { recursive: true, force: true });
}
