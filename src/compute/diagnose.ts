import { availableParallelism } from 'node:os';
import { UserError } from '../io/index.js';
import type { BackendName } from '../nn/names.js';
import { backendInfo, chooseBackend, initBackend } from './init.js';
import { loadNativeAddon } from './native.js';

export interface BackendStatus {
  name: BackendName;
  /** Whether commands can compute on it here. */
  ready: boolean;
  /** What it runs on (library, instruction set, threads), or why it is not ready. */
  detail: string;
}

export interface BackendDiagnosis {
  cores: number;
  backends: BackendStatus[];
  /** What `--backend auto` picks on this machine. */
  auto: BackendName;
}

async function status(name: BackendName): Promise<BackendStatus> {
  try {
    await initBackend(name);
    const info = await backendInfo();
    const threads = `${info.threads} thread${info.threads === 1 ? '' : 's'}`;
    const detail = name === 'native' ? `${info.library}, ${info.isa}, ${threads}, self-test against cpu passed`
      : name === 'wasm' ? `tfjs-backend-wasm${info.simd ? ' with SIMD' : ' without SIMD'}, ${threads}`
      : `tfjs-backend-cpu (the oracle), ${threads}`;
    return { name, ready: true, detail };
  } catch (e) {
    const addon = name === 'native' ? loadNativeAddon() : undefined;
    const reason = addon !== undefined && 'error' in addon ? addon.error : e instanceof UserError ? e.message : (e as Error).message;
    return { name, ready: false, detail: reason };
  }
}

/** Every backend's state on this machine (`fiveband doctor`): each is started and, for native, self-tested. */
export async function diagnoseBackends(): Promise<BackendDiagnosis> {
  const backends: BackendStatus[] = [];
  for (const name of ['native', 'wasm', 'cpu'] as const) backends.push(await status(name));
  const auto = await chooseBackend('auto', {}, () => undefined);
  return { cores: availableParallelism(), backends, auto };
}
