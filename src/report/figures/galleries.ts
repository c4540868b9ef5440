import { adjustHeatmap, band, presetSetting, thresholdSweep } from '../../scoring/index.js';
import { SkipFigure, type FigureContent, type FigureDef, type GalleryRow } from '../figure.js';
import { bandRaster, divergingRaster, maxAbs, truthRaster, type Raster } from '../images.js';
import { archName, modelLabel, sortArchs, type RunFolder } from '../run.js';
import { CLASSIFIERS, galleryModel, round6 } from './common.js';
import { gallerySamples, sizeNote, type GallerySamples } from './gallery-common.js';

const CHANNELS = ['R', 'G', 'B'];

function skip(notes: string[]): never {
  throw new SkipFigure(notes.join(' '));
}

function rowLabel(s: GallerySamples, k: number): string {
  return `${archName(s.model.arch)} ${modelLabel(s.model)} · ${s.ids[k]} · class ${s.labels[k]}, predicted ${s.predicted[k]}`;
}

/** Gallery samples of every classifier that has attributions of `methods`, and notes on those without such samples. */
async function classifierSamples(run: RunFolder, methods: readonly string[], which: 'correct' | 'wrong', count: number): Promise<{ all: GallerySamples[]; notes: string[] }> {
  const all: GallerySamples[] = [];
  const notes: string[] = [];
  for (const arch of sortArchs(run.models.map((m) => m.arch)).filter((a) => CLASSIFIERS.includes(a))) {
    const model = galleryModel(run, arch);
    if (!model) continue;
    const s = await gallerySamples(run, model, methods, which, count);
    if (s) all.push(s);
    else if ((await Promise.all(methods.map((m) => run.attributions(model.key, m)))).some((a) => a !== null)) {
      notes.push(`${archName(arch)} ${modelLabel(model)}: no ${which === 'correct' ? 'correctly' : 'wrongly'} predicted sample in the first test shard.`);
    }
  }
  return { all, notes };
}

const FIG6_METHODS = ['Saliency', 'GuidedGradCam', 'Deconvolution'];

/** Fig. 6: correctly predicted samples, image, ground truth and each channel of three methods' attributions. */
export const fig6: FigureDef = {
  id: 'fig6',
  title: 'Fig. 6 — channel maps of Saliency, GuidedGradCam and Deconvolution (correct predictions)',
  needs: 'attributions of Saliency, GuidedGradCam or Deconvolution (explain/<arch>/branch-<b>/attributions/) and the dataset',
  async build(run): Promise<FigureContent | null> {
    if (run.kind !== 'study') return null;
    const { all, notes } = await classifierSamples(run, FIG6_METHODS, 'correct', 3);
    if (all.length === 0) return notes.length ? skip(notes) : null;
    const methods = FIG6_METHODS.filter((m) => all.some((s) => s.attributions[m]));
    const rows: GalleryRow[] = [];
    const data = [];
    for (const s of all) {
      for (let k = 0; k < s.picks.length; k++) {
        const tiles: Array<Raster | null> = [s.images[k]!, s.truths[k]!];
        const scales: Record<string, number | null> = {};
        for (const method of methods) {
          const a = s.attributions[method];
          if (!a) {
            tiles.push(...CHANNELS.map(() => null));
            scales[method] = null;
            continue;
          }
          const px = a.height * a.width;
          const map = s.maps[method]![k]!;
          const scale = maxAbs(map, 0, a.channels * px);
          scales[method] = round6(scale);
          for (let c = 0; c < 3; c++) tiles.push(c < a.channels ? divergingRaster(map, c * px, a.height, scale) : null);
        }
        rows.push({ label: rowLabel(s, k), tiles });
        data.push({ model: s.model.key, id: s.ids[k], label: s.labels[k], predicted: s.predicted[k], maxAbs: scales });
      }
    }
    return {
      caption: 'How to read it: each row is a correctly predicted test sample (first test shard, one per class first): the image, its ground truth '
        + '(grey 0, light red 0.4, dark red 0.9), then the R, G and B channel of each method\'s raw attribution before the channels are summed. '
        + 'Diverging colours: red positive, blue negative, white zero; a method\'s three channel maps share one symmetric scale ±max |value| of that sample '
        + `(listed in data.json), so channels compare within a method. ${sizeNote(all)}`,
      notes,
      data: { methods, rows: data },
      blocks: [{ kind: 'gallery', name: 'fig6', columns: ['image', 'ground truth', ...methods.flatMap((m) => CHANNELS.map((c) => `${m} ${c}`))], rows }],
    };
  },
};

const FIG7_METHODS = ['DeepLift', 'DeepLiftShap', 'Saliency'];

function stratifiedFigure(id: string, title: string, which: 'correct' | 'wrong'): FigureDef {
  return {
    id,
    title,
    needs: 'attributions of DeepLift, DeepLiftShap or Saliency (explain/<arch>/branch-<b>/attributions/) and the dataset',
    async build(run): Promise<FigureContent | null> {
      if (run.kind !== 'study') return null;
      const { all, notes } = await classifierSamples(run, FIG7_METHODS, which, 2);
      if (all.length === 0) return notes.length ? skip(notes) : null;
      const methods = FIG7_METHODS.filter((m) => all.some((s) => s.attributions[m]));
      const setting = presetSetting('v1');
      const sweep = thresholdSweep(setting);
      const first = Array.from(sweep.subarray(0, 4)) as [number, number, number, number];
      const last = Array.from(sweep.subarray(4 * (setting.steps - 1), 4 * setting.steps)) as [number, number, number, number];
      const rows: GalleryRow[] = [];
      const data = [];
      for (const s of all) {
        for (let k = 0; k < s.picks.length; k++) {
          const tiles: Array<Raster | null> = [s.images[k]!, s.truths[k]!];
          const counts: Record<string, unknown> = {};
          for (const method of methods) {
            const a = s.attributions[method];
            if (!a) {
              tiles.push(null, null, null);
              continue;
            }
            const px = a.height * a.width;
            const h = new Float64Array(px);
            const degeneracy = adjustHeatmap(s.maps[method]![k]!, 0, a.channels, px, setting.adjustment, h);
            tiles.push(divergingRaster(h, 0, a.height, 1));
            const perSet: Record<string, number[]> = {};
            for (const [name, g] of [['t0', first], ['t55', last]] as const) {
              const bands = new Int8Array(px);
              for (let p = 0; p < px; p++) bands[p] = band(h[p]!, g[0], g[1], g[2], g[3]);
              tiles.push(bandRaster(bands, a.height));
              const hist = [0, 0, 0, 0, 0];
              for (let p = 0; p < px; p++) hist[bands[p]! + 2]!++;
              perSet[name] = hist;
            }
            counts[method] = { degeneracy, bandCounts: perSet };
          }
          rows.push({ label: rowLabel(s, k), tiles });
          data.push({ model: s.model.key, id: s.ids[k], label: s.labels[k], predicted: s.predicted[k], methods: counts });
        }
      }
      return {
        caption: `How to read it: each row is a ${which === 'correct' ? 'correctly' : 'wrongly'} predicted test sample: the image, its ground truth, then per method `
          + 'h — the attribution summed over channels and divided by its max |sum| (as the scorer adjusts it; red positive, blue negative, white 0, scale ±1) — '
          + `and its five-band stratification with the first (t0 = [${first.join(', ')}]) and the last (t55 = [${last.map((v) => round6(v)).join(', ')}]) threshold set of setting v1: `
          + 'dark blue −2, light blue −1, grey 0, light red 1, dark red 2, in the ground truth\'s colours. Band counts per map are in data.json. '
          + sizeNote(all),
        notes,
        data: { methods, thresholds: { t0: first, t55: last }, rows: data },
        blocks: [{ kind: 'gallery', name: id, columns: ['image', 'ground truth', ...methods.flatMap((m) => [`${m} h`, `${m} S(t0)`, `${m} S(t55)`])], rows }],
      };
    },
  };
}

export const fig7 = stratifiedFigure('fig7', 'Fig. 7 — summed heatmaps and their five-band stratification (correct predictions)', 'correct');
export const fig8 = stratifiedFigure('fig8', 'Fig. 8 — summed heatmaps and their five-band stratification (wrong predictions)', 'wrong');

/** Fig. 10: mabCAM's heatmaps (decoded 0 / 0.4 / 0.9) beside image and ground truth, correct (A) and wrong (B). */
export const fig10: FigureDef = {
  id: 'fig10',
  title: 'Fig. 10 — mabCAM heatmaps, correct (A) and wrong (B) predictions',
  needs: 'SPA\'s mab attributions (explain/spa/attributions/mab/) and the dataset',
  async build(run): Promise<FigureContent | null> {
    if (run.kind !== 'study') return null;
    const model = run.models.find((m) => m.arch === 'spa');
    if (!model) return null;
    const parts = [] as Array<{ part: string; samples: GallerySamples }>;
    for (const [part, which] of [['A', 'correct'], ['B', 'wrong']] as const) {
      const s = await gallerySamples(run, model, ['mab'], which, 4);
      if (s) parts.push({ part, samples: s });
    }
    if (parts.length === 0) return null;
    const blocks = parts.map(({ part, samples: s }) => {
      const a = s.attributions.mab!;
      const px = a.height * a.width;
      const rows: GalleryRow[] = s.picks.map((_, k) => {
        const codes = new Uint8Array(px);
        const map = s.maps.mab![k]!;
        for (let p = 0; p < px; p++) {
          const v = map[p]!;
          codes[p] = v > 0.7 ? 2 : v > 0.3 ? 1 : 0;
        }
        return { label: rowLabel(s, k), tiles: [s.images[k]!, s.truths[k]!, truthRaster(codes, 0, a.height)] };
      });
      return { kind: 'gallery' as const, name: `fig10${part.toLowerCase()}`, title: `(${part}) ${part === 'A' ? 'correct' : 'wrong'} predictions`, columns: ['image', 'ground truth', 'mab heatmap'], rows };
    });
    return {
      caption: 'How to read it: each row is a test sample: the image, its ground truth and the magnitude-banded heatmap SPA predicts with its class '
        + '(argmax over three bands, decoded to 0 / 0.4 / 0.9 and drawn in the ground truth\'s colours). (A) correctly, (B) wrongly predicted samples '
        + `(first test shard, one per class first). ${sizeNote(parts.map((p) => p.samples))}`,
      notes: parts.length < 2 ? [`Only part ${parts[0]!.part}: SPA has no ${parts[0]!.part === 'A' ? 'wrong' : 'correct'} prediction in the first test shard.`] : undefined,
      data: parts.map(({ part, samples: s }) => ({ part, model: s.model.key, rows: s.ids.map((id, k) => ({ id, label: s.labels[k], predicted: s.predicted[k] })) })),
      blocks,
    };
  },
};
