/**
 * Node module hooks that let tfjs-core's own ESM build (dist/*.js: extensionless relative imports, in a package
 * without "type": "module") load in Node, so that its gradient definitions
 * (dist/register_all_gradients.js, absent from the Node bundle) can be registered. Only files under
 * @tensorflow/tfjs-core/dist/ other than its prebuilt bundles are affected. The ESM copy shares the engine and
 * the kernel/gradient registries with the bundle through tfjs's global namespace.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const CORE_DIST = '/@tensorflow/tfjs-core/dist/';

function isCoreEsmFile(url: string): boolean {
  return url.startsWith('file:') && url.includes(CORE_DIST) && !/\/tf-core[^/]*\.js$/.test(url);
}

interface ResolveContext { parentURL?: string }
type NextResolve = (specifier: string, context: ResolveContext) => Promise<{ url: string }>;
type NextLoad = (url: string, context: object) => Promise<object>;

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<object> {
  const parent = context.parentURL;
  if (parent !== undefined && isCoreEsmFile(parent) && specifier.startsWith('.') && !specifier.endsWith('.js')) {
    const asFile = new URL(`${specifier}.js`, parent);
    const url = existsSync(fileURLToPath(asFile)) ? asFile : new URL(`${specifier}/index.js`, parent);
    return { url: url.href, format: 'module', shortCircuit: true };
  }
  return nextResolve(specifier, context);
}

export async function load(url: string, context: object, nextLoad: NextLoad): Promise<object> {
  if (isCoreEsmFile(url)) return { format: 'module', source: await readFile(fileURLToPath(url), 'utf8'), shortCircuit: true };
  return nextLoad(url, context);
}
