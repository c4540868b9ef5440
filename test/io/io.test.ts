import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  LOCK_FILE, UserError, decodeNpy, decodeSafetensors, encodeNpy, encodeSafetensors, openAtomicFile, openTensorFile, readSafetensors, removeStaleTemps, sha256, sha256File,
  lockFolder, makeFolder, writeFileAtomic, writeNpy, writeSafetensors,
} from '../../src/io/index.js';

const concat = (parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));

test('safetensors round trip keeps dtypes, shapes, values and metadata', () => {
  const tensors = {
    images: { dtype: 'U8' as const, shape: [2, 3], data: Uint8Array.from([0, 1, 2, 253, 254, 255]) },
    w: { dtype: 'F32' as const, shape: [3], data: Float32Array.from([0.5, -1.25, 3e-8]) },
    d: { dtype: 'F64' as const, shape: [1, 1], data: Float64Array.from([Math.PI]) },
  };
  const bytes = concat(encodeSafetensors(tensors, { seed: '7' }));
  const headerLength = Number(bytes.readBigUInt64LE(0));
  assert.equal((8 + headerLength) % 8, 0, 'data section is 8-byte aligned');
  const back = decodeSafetensors(bytes);
  assert.deepEqual(back.metadata, { seed: '7' });
  for (const [name, t] of Object.entries(tensors)) {
    assert.equal(back.tensors[name]!.dtype, t.dtype);
    assert.deepEqual(back.tensors[name]!.shape, t.shape);
    assert.deepEqual(Array.from(back.tensors[name]!.data as Float64Array), Array.from(t.data as Float64Array));
  }
});

test('a truncated or garbled safetensors file is a UserError naming the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fiveband-io-'));
  const path = join(dir, 'x.safetensors');
  await writeSafetensors(path, { a: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
  const full = await readFile(path);
  await writeFile(path, full.subarray(0, full.length - 3));
  await assert.rejects(readSafetensors(path), (e: unknown) => e instanceof UserError && e.message.includes(path) && /truncated/.test(e.message));
  await writeFile(path, Buffer.from('not a safetensors file at all'));
  await assert.rejects(readSafetensors(path), (e: unknown) => e instanceof UserError && e.message.includes(path));
  await assert.rejects(readSafetensors(join(dir, 'missing.safetensors')), /cannot read/);
});

test('npy round trip and header parsing', () => {
  const data = Float64Array.from({ length: 24 }, (_, i) => i / 7);
  const t = decodeNpy(concat(encodeNpy(data, [2, 3, 4])));
  assert.equal(t.dtype, 'F64');
  assert.deepEqual(t.shape, [2, 3, 4]);
  assert.deepEqual(Array.from(t.data as Float64Array), Array.from(data));
  const header = concat(encodeNpy(new Float32Array(5), [5])).subarray(10, 10 + 118).toString('latin1');
  assert.match(header, /'shape': \(5,\)/);
  assert.throws(() => decodeNpy(Buffer.from('nope')), UserError);
});

test('atomic writes leave no temporary files and checksums agree', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fiveband-io-'));
  const path = join(dir, 'sub', 'a.txt');
  await writeFileAtomic(path, 'hello');
  await writeFileAtomic(path, 'hello again');
  assert.equal(await readFile(path, 'utf8'), 'hello again');
  assert.deepEqual(await readdir(join(dir, 'sub')), ['a.txt']);
  assert.equal(await sha256File(path), sha256('hello again'));
  // A rename that fails (the target is a folder) leaves no temporary file; neither does an aborted file.
  await mkdir(join(dir, 'sub', 'folder'));
  await assert.rejects(writeFileAtomic(join(dir, 'sub', 'folder'), 'x'));
  const aborted = await openAtomicFile(join(dir, 'sub', 'b.txt'));
  await aborted.write('partial');
  await aborted.abort();
  assert.deepEqual((await readdir(join(dir, 'sub'))).sort(), ['a.txt', 'folder']);
});

test('openTensorFile reads a tensor in pieces equal to the whole decode; the named one of several; truncation is a UserError', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fiveband-io-'));
  const data = Float64Array.from({ length: 60 }, (_, i) => Math.sin(i));
  await writeNpy(join(dir, 'a.npy'), data, [5, 12]);
  await writeSafetensors(join(dir, 'b.safetensors'), {
    first: { dtype: 'U8', shape: [3], data: Uint8Array.from([1, 2, 3]) }, second: { dtype: 'F64', shape: [5, 12], data },
  }, { note: 'x' });
  for (const [file, name] of [['a.npy', undefined], ['b.safetensors', 'second']] as const) {
    const reader = await openTensorFile(join(dir, file), (names) => name ?? names[0]!);
    assert.deepEqual([reader.dtype, reader.shape], ['F64', [5, 12]]);
    const piece = new Float64Array(24);
    await reader.read(new Uint8Array(piece.buffer), 2 * 12 * 8); // rows 2-3
    assert.deepEqual(piece, data.subarray(24, 48));
    await reader.close();
  }
  const full = await readFile(join(dir, 'a.npy'));
  await writeFile(join(dir, 'short.npy'), full.subarray(0, full.length - 8));
  await assert.rejects(openTensorFile(join(dir, 'short.npy'), () => ''), (e: unknown) => e instanceof UserError && /short\.npy: not a readable \.npy file \(truncated: expected 480 data bytes, found 472\)/.test(e.message));
  await assert.rejects(openTensorFile(join(dir, 'b.safetensors'), () => { throw new UserError('pick failed'); }), /pick failed/);
});

test('removeStaleTemps removes the temporary files of dead writers only, down to the given depth', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fiveband-io-'));
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  await mkdir(join(dir, 'model', 'branch-1'), { recursive: true });
  const names = {
    dead: join(dir, 'model', `checkpoint.safetensors.tmp-${dead}-0a1b2c3d`),
    deep: join(dir, 'model', 'branch-1', `weights.safetensors.tmp-${dead}-0a1b2c3d`),
    mine: join(dir, 'model', `summary.json.tmp-${process.pid}-0a1b2c3d`),
    parent: join(dir, 'model', `curves.csv.tmp-${process.ppid}-0a1b2c3d`),
    plain: join(dir, 'model', 'notes.tmp-old'),
  };
  for (const path of Object.values(names)) await writeFile(path, 'x');
  assert.deepEqual(await removeStaleTemps(join(dir, 'model')), [names.dead]);
  assert.deepEqual(await removeStaleTemps(dir, 2), [names.deep]);
  assert.deepEqual((await readdir(join(dir, 'model'))).sort(), ['branch-1', `curves.csv.tmp-${process.ppid}-0a1b2c3d`, 'notes.tmp-old', `summary.json.tmp-${process.pid}-0a1b2c3d`]);
  assert.deepEqual(await removeStaleTemps(join(dir, 'missing')), []);
});

test('lockFolder: one writer per folder; a dead local writer\'s lock is taken over, another host\'s is not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fiveband-io-'));
  const release = await lockFolder(dir);
  const lock = join(dir, LOCK_FILE);
  assert.equal(await readFile(lock, 'utf8'), `${process.pid} ${hostname()}\n`);
  await assert.rejects(lockFolder(dir), (e: unknown) => e instanceof UserError && e.message === `${dir} is being written by another fiveband process (pid ${process.pid} on ${hostname()}); wait for it, or use another folder`);
  await release();
  assert.deepEqual(await readdir(dir), [], 'released: no lock, no temporary files');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
  await writeFile(lock, `${dead} ${hostname()}\n`);
  const takeover = await lockFolder(dir);
  assert.equal(await readFile(lock, 'utf8'), `${process.pid} ${hostname()}\n`);
  await takeover();
  await writeFile(lock, `${dead} elsewhere.example\n`);
  await assert.rejects(lockFolder(dir), new RegExp(`pid ${dead} on elsewhere\\.example\\); wait for it, or use another folder, or delete .*\\.fiveband\\.lock if that process is gone`));
  assert.deepEqual(await readdir(dir), [LOCK_FILE]);
});

test('makeFolder walks the path as the system does: "out/../x" makes out too; a file in the way is one line', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'fiveband-mkdir-'));
  const tricky = `${dir}/out/../x/y`; // not join(): that would collapse the ..
  await makeFolder(tricky);
  assert.deepEqual(await readdir(tricky), []);
  assert.deepEqual((await readdir(dir)).sort(), ['out', 'x']);
  await writeFile(join(dir, 'file'), 'x');
  await assert.rejects(makeFolder(join(dir, 'file', 'sub')), (e: Error) => e instanceof UserError && /file\/sub: cannot create the folder \(ENOTDIR/.test(e.message) && !e.message.includes('\n'));
});
