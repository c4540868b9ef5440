import type { Block, Cell, FigureDef } from './figure.js';

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A block after its files were written: charts and galleries know their file names and sizes. */
export type PlacedBlock =
  | { kind: 'chart'; svg: string; png: string; width: number; height: number; alt: string }
  | { kind: 'gallery'; title?: string; composite: string; columns: string[]; rows: Array<{ label: string; tiles: Array<{ src: string; size: number } | null> }> }
  | { kind: 'image'; src: string; width: number; height: number; alt: string }
  | Extract<Block, { kind: 'table' | 'paragraph' }>;

/** A figure as placed on the page: shown with its blocks, or skipped with the reason. */
export type PlacedFigure =
  | { def: FigureDef; shown: true; caption: string; notes: string[]; blocks: PlacedBlock[] }
  | { def: FigureDef; shown: false; reason: string };

export interface PageHeader {
  title: string;
  /** Label → value rows of the run's description (config, version, backend, seed, wall time). */
  facts: Array<[string, string]>;
  warnings: string[];
  /** Every task of a study run with who ran it and its wall time, shown folded under the facts. */
  tasks?: Extract<Block, { kind: 'table' }>;
}

function cellHtml(cell: Cell, tag: 'td' | 'th' = 'td'): string {
  if (cell === null) return `<${tag} class="missing" data-sort="">–</${tag}>`;
  if (typeof cell === 'number') {
    const text = Number.isInteger(cell) ? String(cell) : Number.isFinite(cell) ? cell.toFixed(3) : '–';
    return `<${tag} class="num" data-sort="${Number.isFinite(cell) ? cell : ''}">${text}</${tag}>`;
  }
  if (typeof cell === 'string') return `<${tag}>${escapeHtml(cell)}</${tag}>`;
  const cls = cell.className ? ` class="${escapeHtml(cell.className)}"` : '';
  const sort = cell.sort === undefined ? '' : ` data-sort="${escapeHtml(String(cell.sort))}"`;
  return `<${tag}${cls}${sort}>${escapeHtml(cell.text)}</${tag}>`;
}

function blockHtml(block: PlacedBlock): string {
  switch (block.kind) {
    case 'chart':
      return `<figure class="chart"><img src="${escapeHtml(block.svg)}" width="${Math.round(block.width)}" height="${Math.round(block.height)}" alt="${escapeHtml(block.alt)}">`
        + `<figcaption><a href="${escapeHtml(block.svg)}">SVG</a> · <a href="${escapeHtml(block.png)}">PNG</a></figcaption></figure>`;
    case 'image':
      return `<figure class="image"><img src="${escapeHtml(block.src)}" width="${block.width}" height="${block.height}" alt="${escapeHtml(block.alt)}"></figure>`;
    case 'paragraph':
      return `<p>${escapeHtml(block.text)}</p>`;
    case 'table': {
      const id = block.id ? ` id="${escapeHtml(block.id)}"` : '';
      const cls = block.sortable ? ' class="data sortable"' : ' class="data"';
      const title = block.title ? `<h3>${escapeHtml(block.title)}</h3>` : '';
      const head = `<thead><tr>${block.columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('')}</tr></thead>`;
      const body = `<tbody>${block.rows.map((r) => `<tr>${r.map((c) => cellHtml(c)).join('')}</tr>`).join('\n')}</tbody>`;
      return `${title}<div class="scroll"><table${id}${cls}>${head}\n${body}</table></div>`;
    }
    case 'gallery': {
      const title = block.title ? `<h3>${escapeHtml(block.title)}</h3>` : '';
      const head = `<thead><tr><th></th>${block.columns.map((c) => `<th scope="col">${escapeHtml(c)}</th>`).join('')}</tr></thead>`;
      const body = block.rows.map((r) => `<tr><th scope="row" class="rowlabel">${escapeHtml(r.label)}</th>${r.tiles.map((t) => (t
        ? `<td><img src="${escapeHtml(t.src)}" width="96" height="96" alt=""></td>`
        : '<td class="missing">–</td>')).join('')}</tr>`).join('\n');
      return `${title}<div class="scroll"><table class="gallery">${head}<tbody>${body}</tbody></table></div>`
        + `<p class="links">The whole grid as one picture: <a href="${escapeHtml(block.composite)}">PNG</a></p>`;
    }
  }
}

const STYLE = `
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; margin: 1.5em auto; max-width: 1400px; padding: 0 1em; color: #222; line-height: 1.4; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; } h3 { font-size: 1em; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 0.15em 1em; font-size: 0.9em; }
dl.facts dt { font-weight: bold; } dl.facts dd { margin: 0; }
.warning { background: #fff3cd; border: 1px solid #e0b000; padding: 0.4em 0.8em; margin: 0.3em 0; }
.caption { color: #333; font-size: 0.92em; max-width: 70em; } .note { color: #555; font-size: 0.9em; }
.skipped .skip { color: #666; font-style: italic; }
figure { margin: 0.8em 0; } figure.chart img, figure.image img { max-width: 100%; height: auto; }
figcaption, .links { font-size: 0.8em; color: #555; }
.scroll { overflow-x: auto; }
table.data { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
table.data th, table.data td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.sortable th { cursor: pointer; background: #f4f4f4; }
table.gallery { border-collapse: collapse; font-size: 0.75em; }
table.gallery th { font-weight: normal; padding: 2px 4px; } table.gallery th.rowlabel { text-align: right; max-width: 16em; }
table.gallery td { padding: 2px; } table.gallery img { image-rendering: pixelated; display: block; }
td.weak, td.fails { background: #fde2e2; } td.holds { background: #e2f5e2; } td.untested { color: #777; }
nav ol { columns: 2; font-size: 0.9em; } nav .skipped-link { color: #888; }
`;

/** Click-to-sort for tables with class "sortable" (the tables read fine without it). */
const SORT_SCRIPT = `
document.querySelectorAll('table.sortable').forEach(function (table) {
  table.querySelectorAll('thead th').forEach(function (th, col) {
    th.title = 'click to sort';
    th.addEventListener('click', function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var dir = th.getAttribute('data-dir') === 'asc' ? -1 : 1;
      th.setAttribute('data-dir', dir === 1 ? 'asc' : 'desc');
      function key(row) {
        var cell = row.cells[col];
        var raw = cell.hasAttribute('data-sort') ? cell.getAttribute('data-sort') : cell.textContent;
        var num = parseFloat(raw);
        return isNaN(num) ? raw : num;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x === 'number' && typeof y === 'number') return (x - y) * dir;
        return String(x).localeCompare(String(y)) * dir;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
`;

/** The whole static page: header, contents, one section per figure (skipped ones with their reason). */
export function renderPage(header: PageHeader, figures: PlacedFigure[]): string {
  const facts = header.facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('');
  const warnings = header.warnings.map((w) => `<p class="warning">${escapeHtml(w)}</p>`).join('\n');
  const toc = figures.map((f) => (f.shown
    ? `<li><a href="#${escapeHtml(f.def.id)}">${escapeHtml(f.def.title)}</a></li>`
    : `<li class="skipped-link"><a href="#${escapeHtml(f.def.id)}">${escapeHtml(f.def.title)}</a> (not in this run)</li>`)).join('\n');
  const sections = figures.map((f) => {
    const head = `<h2>${escapeHtml(f.def.title)}</h2>`;
    if (!f.shown) {
      return `<section class="figure skipped" id="${escapeHtml(f.def.id)}" data-figure="${escapeHtml(f.def.id)}">${head}<p class="skip">Not shown: ${escapeHtml(f.reason)}</p></section>`;
    }
    const notes = f.notes.map((n) => `<p class="note">${escapeHtml(n)}</p>`).join('');
    return `<section class="figure shown" id="${escapeHtml(f.def.id)}" data-figure="${escapeHtml(f.def.id)}">${head}<p class="caption">${escapeHtml(f.caption)}</p>${notes}\n`
      + `${f.blocks.map(blockHtml).join('\n')}</section>`;
  }).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(header.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(header.title)}</h1>
<dl class="facts">${facts}</dl>
${header.tasks ? `<details><summary>Wall time of each task (${header.tasks.rows.length})</summary>${blockHtml(header.tasks)}</details>` : ''}
${warnings}
<p class="note">Every number of the figures and tables below is in <a href="data.json">data.json</a> (the run's times are in its study.json); charts link their SVG and PNG files.</p>
</header>
<nav><h2>Contents</h2><ol>
${toc}
</ol></nav>
<main>
${sections}
</main>
<script>${SORT_SCRIPT}</script>
</body>
</html>
`;
}
