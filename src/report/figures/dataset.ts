import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { renderOverview } from '../../data/index.js';
import { sha256 } from '../../io/index.js';
import type { FigureDef } from '../figure.js';

/** Fig. 1: the dataset sheet (one row per class, image | ground truth per background type). */
export const fig1: FigureDef = {
  id: 'fig1',
  title: 'Fig. 1 — the synthetic cells and their ground truth',
  needs: 'the run\'s dataset (dataset/manifest.json) or its sheet dataset/sheets/overview.png',
  async build(run) {
    if (run.kind !== 'study') return null;
    const sheet = join(run.dir, 'dataset', 'sheets', 'overview.png');
    let png: Uint8Array;
    let source: string;
    if (await run.has('dataset', 'sheets', 'overview.png')) {
      png = new Uint8Array(await readFile(sheet));
      source = 'dataset/sheets/overview.png';
    } else {
      const dataset = await run.dataset();
      if (!dataset) return null;
      png = renderOverview(dataset.size, dataset.classes, dataset.config.seed);
      source = `drawn from the dataset's seed ${dataset.config.seed} (as fiveband show does)`;
    }
    const dataset = await run.dataset().catch(() => null);
    return {
      caption: 'How to read it: one row per class (0 at the top: plain cell, bar, plus, red/green/blue-bordered rectangle, one/three/eight tails, empty), '
        + 'one image | ground-truth pair per background type (black, blotchy colour, distorted rings). Ground truth: grey 0 (irrelevant), '
        + 'light red 0.4 (localisation), dark red 0.9 (discriminative feature).',
      data: { source, size: dataset?.size ?? null, classes: dataset?.classes ?? null, seed: dataset?.config.seed ?? null, sha256: sha256(png) },
      blocks: [{ kind: 'image', name: 'fig1-overview', png, alt: 'dataset overview: classes × backgrounds, image and ground truth' }],
    };
  },
};
