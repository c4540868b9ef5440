import { UserError } from '../io/index.js';
import type { Model } from '../nn/index.js';
import { deconvolution } from './deconvolution.js';
import { deepLift } from './deeplift.js';
import { deepLiftShap } from './deeplift-shap.js';
import { gradCam, gradCamPlusPlus } from './grad-cam.js';
import { gradientShap } from './gradient-shap.js';
import { guidedBackprop } from './guided-backprop.js';
import { guidedGradCam } from './guided-gradcam.js';
import { inputXGradient } from './input-x-gradient.js';
import { integratedGradients } from './integrated-gradients.js';
import { lrp, lrpEpsilonGamma, lrpEpsilonGammaBox, lrpEpsilonPlus } from './lrp.js';
import { mab } from './mab.js';
import { NOISE_TUNNELS, noiseTunnel } from './noise-tunnel.js';
import { NULL_EXPLAINERS } from './null-explainers.js';
import { occlusion } from './occlusion.js';
import { saliency } from './saliency.js';
import type { AttributionMethod } from './types.js';

/** The real methods: the reference's, in its V2 evaluation order (spec §3.1), then fiveband's additions. */
const EXPLAINERS: readonly AttributionMethod[] = [
  saliency, integratedGradients, inputXGradient, deepLift, guidedBackprop, guidedGradCam, deconvolution,
  gradientShap, deepLiftShap, mab, gradCam, gradCamPlusPlus, occlusion, lrp, lrpEpsilonPlus, lrpEpsilonGamma, lrpEpsilonGammaBox,
  ...Object.entries(NOISE_TUNNELS).map(([name, type]) => noiseTunnel(name, type, saliency)),
];
/** Every method: the real ones, then the null explainers (chance levels). */
const METHODS: readonly AttributionMethod[] = [...EXPLAINERS, ...NULL_EXPLAINERS];

export const methodNames: readonly string[] = METHODS.map((m) => m.name);
export const nullExplainerNames: readonly string[] = NULL_EXPLAINERS.map((m) => m.name);

/**
 * The method called `name` (case-insensitive); `SmoothGrad.<Method>`, `SmoothGradSq.<Method>` and
 * `VarGrad.<Method>` are NoiseTunnel over another method (plain `SmoothGrad` is over Saliency).
 */
export function getMethod(name: string): AttributionMethod {
  const key = name.trim().toLowerCase();
  const method = METHODS.find((m) => m.name.toLowerCase() === key);
  if (method) return method;
  const tunnel = /^([a-z]+)\.([a-z]+)$/.exec(key);
  const prefix = tunnel && Object.keys(NOISE_TUNNELS).find((p) => p.toLowerCase() === tunnel[1]);
  if (tunnel && prefix) {
    const base = EXPLAINERS.find((m) => m.name.toLowerCase() === tunnel[2] && !(m.name in NOISE_TUNNELS) && m.name !== 'mab');
    if (base) return noiseTunnel(`${prefix}.${base.name}`, NOISE_TUNNELS[prefix]!, base);
  }
  throw new UserError(`unknown attribution method "${name}"; known: ${methodNames.join(', ')}, SmoothGrad.<method>, SmoothGradSq.<method>, VarGrad.<method>, all, nulls`);
}

/**
 * Methods from a list such as `all`, `all,nulls` or `Saliency,DeepLift`: `all` means every real method that
 * applies to the model (mab only for SPA), `nulls` the null explainers; a named method that does not apply is an
 * error. Methods come in the list's order, each once.
 */
export function resolveMethods(list: string, model?: Model): AttributionMethod[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new UserError('no attribution method given');
  const chosen = new Map<string, AttributionMethod>(); // by name: NoiseTunnel wrappers are made per lookup
  const add = (m: AttributionMethod) => chosen.has(m.name) || chosen.set(m.name, m);
  for (const name of names) {
    const key = name.toLowerCase();
    if (key === 'all') EXPLAINERS.filter((m) => !model || m.appliesTo(model.spec.arch)).forEach(add);
    else if (key === 'nulls') NULL_EXPLAINERS.forEach(add);
    else {
      const method = getMethod(name);
      if (model && !method.appliesTo(model.spec.arch)) throw new UserError(`method ${method.name} does not apply to a ${model.spec.arch} model`);
      add(method);
    }
  }
  return [...chosen.values()];
}
