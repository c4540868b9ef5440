// Preloaded with `node --import` into a fiveband process to simulate a disk that fills up: after
// FIVEBAND_TEST_DISK_BYTES bytes written through file handles and writeFile (per thread), the write that crosses
// the limit is cut short and every later one fails with ENOSPC, as a full disk answers. Tests only; without the
// variable (e.g. when the test runner loads every file under test/) it does nothing.
import { syncBuiltinESMExports } from 'node:module';
import fsp from 'node:fs/promises';

type Written = Promise<{ bytesWritten: number; buffer: unknown }>;
interface HandleMethods {
  write: (this: unknown, data: unknown, ...rest: unknown[]) => Written;
  writeFile: (this: unknown, data: string | Uint8Array, ...rest: unknown[]) => Promise<void>;
}

const limit = process.env.FIVEBAND_TEST_DISK_BYTES;
let room = Number(limit);

function noSpace(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

/** Takes up to `want` bytes of the remaining room; 0 when the disk is full. */
function take(want: number): number {
  const got = Math.max(0, Math.min(want, room));
  room -= got;
  return got;
}

async function patchWrites(): Promise<void> {
  const probe = await fsp.open('/dev/null', 'r');
  const handle = Object.getPrototypeOf(probe) as HandleMethods;
  await probe.close();

  const write = handle.write;
  handle.write = async function (data, ...rest) {
    if (typeof data === 'string') {
      const bytes = Buffer.byteLength(data);
      if (take(bytes) < bytes) throw noSpace();
      return write.call(this, data, ...rest);
    }
    const view = data as Uint8Array;
    const offset = typeof rest[0] === 'number' ? rest[0] : 0;
    const length = typeof rest[1] === 'number' ? rest[1] : view.byteLength - offset;
    const got = take(length);
    if (got === 0 && length > 0) throw noSpace();
    return write.call(this, view, offset, got, ...rest.slice(2));
  };
  const handleWriteFile = handle.writeFile;
  handle.writeFile = async function (data, ...rest) {
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
    if (take(bytes) < bytes) throw noSpace();
    return handleWriteFile.call(this, data, ...rest);
  };
  const writeFile = fsp.writeFile;
  (fsp as { writeFile: typeof fsp.writeFile }).writeFile = async (path, data, options) => {
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : ArrayBuffer.isView(data) ? data.byteLength : 0;
    if (take(bytes) < bytes) {
      await writeFile(path, ''); // a full disk leaves the file created, empty
      throw noSpace();
    }
    return writeFile(path, data, options);
  };
  syncBuiltinESMExports();
}

if (limit !== undefined) {
  if (!Number.isFinite(room)) throw new Error('FIVEBAND_TEST_DISK_BYTES must be a byte count');
  await patchWrites();
}
