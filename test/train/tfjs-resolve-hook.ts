// Node ESM resolve hook: tfjs-core's ESM sources import '../ops/mul' without an extension.
type Next = (specifier: string, context: unknown) => Promise<unknown>;
export async function resolve(specifier: string, context: unknown, next: Next): Promise<unknown> {
  try {
    return await next(specifier, context);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'ERR_UNSUPPORTED_DIR_IMPORT') return next(`${specifier}.js`, context);
    throw err;
  }
}
