import { UserError } from '../io/index.js';
import type { Model } from '../nn/index.js';
import { deconvolution } from './deconvolution.js';
import { deepLift } from './deeplift.js';
import { deepLiftShap } from './deeplift-shap.js';
import { gradientShap } from './gradient-shap.js';
import { guidedBackprop } from './guided-backprop.js';
import { guidedGradCam } from './guided-gradcam.js';
import { inputXGradient } from './input-x-gradient.js';
import { integratedGradients } from './integrated-gradients.js';
import { mab } from './mab.js';
import { saliency } from './saliency.js';
import type { AttributionMethod } from './types.js';

/** Every method, in the reference's V2 evaluation order (spec §3.1). */
const METHODS: readonly AttributionMethod[] = [
  saliency, integratedGradients, inputXGradient, deepLift, guidedBackprop, guidedGradCam, deconvolution,
  gradientShap, deepLiftShap, mab,
];

export const methodNames: readonly string[] = METHODS.map((m) => m.name);

/** The method called `name` (case-insensitive). */
export function getMethod(name: string): AttributionMethod {
  const method = METHODS.find((m) => m.name.toLowerCase() === name.trim().toLowerCase());
  if (!method) throw new UserError(`unknown attribution method "${name}"; known: ${methodNames.join(', ')}, all`);
  return method;
}

/**
 * Methods from a list such as `all` or `Saliency,DeepLift`: `all` means every method that applies to the
 * model (mab only for SPA); a named method that does not apply is an error.
 */
export function resolveMethods(list: string, model?: Model): AttributionMethod[] {
  const names = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  if (names.length === 0) throw new UserError('no attribution method given');
  if (names.length === 1 && names[0]!.toLowerCase() === 'all') return METHODS.filter((m) => !model || m.appliesTo(model));
  const chosen: AttributionMethod[] = [];
  for (const name of names) {
    const method = getMethod(name);
    if (model && !method.appliesTo(model)) throw new UserError(`method ${method.name} does not apply to a ${model.spec.arch} model`);
    if (!chosen.includes(method)) chosen.push(method);
  }
  return chosen;
}
