// Builds the optional native backend (oneDNN through N-API) during `npm ci`/`npm install`.
// Without oneDNN's headers or a compiler it skips with one line: the wasm backend serves instead.
// FIVEBAND_NATIVE=required turns a skip or a failed build into an error (CI builds and tests it every time).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const required = process.env.FIVEBAND_NATIVE === 'required';

function skip(reason) {
  if (required) {
    console.error(`fiveband: native backend required but not built: ${reason}`);
    process.exit(1);
  }
  console.log(`fiveband: native backend not built (${reason}); the wasm backend will be used. For native speed: apt-get install -y libdnnl-dev, then npm ci.`);
  process.exit(0);
}

if (process.env.FIVEBAND_NATIVE === 'off') skip('FIVEBAND_NATIVE=off');
const includeDirs = ['/usr/include', '/usr/local/include', ...(process.env.CPATH ?? '').split(':').filter(Boolean)];
if (!includeDirs.some((dir) => existsSync(join(dir, 'oneapi', 'dnnl', 'dnnl.hpp')))) skip('oneDNN headers not found');

// npm puts its bundled node-gyp in npm_config_node_gyp for lifecycle scripts.
const gyp = process.env.npm_config_node_gyp;
const [command, args] = gyp ? [process.execPath, [gyp]] : ['node-gyp', []];
const result = spawnSync(command, [...args, 'rebuild', '--directory', here, '--loglevel', 'error'], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
if (result.status !== 0) {
  const detail = (result.stderr ?? String(result.error ?? '')).split('\n').find((line) => /error/i.test(line)) ?? `exit ${result.status}`;
  skip(`build failed: ${detail.trim()}`);
}
console.log('fiveband: native backend built (oneDNN)');
