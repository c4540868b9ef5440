/**
 * An error caused by the user's input (bad argument, unreadable or corrupt file).
 * The CLI prints its one-line message and exits with `exitCode` (2) instead of a stack trace.
 */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 2) {
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** Throws a UserError with `message` unless `condition` holds. */
export function ensure(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new UserError(typeof message === 'function' ? message() : message);
}

/** The one-line error for a file that cannot be opened, naming the path and the system's reason. */
export function cannotRead(path: string, err: unknown): UserError {
  return new UserError(`${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
}

/** The system's reason for a failed file operation, e.g. "ENOSPC: no space left on device". */
function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (typeof e?.code !== 'string') return String(err);
  return e.message.startsWith(`${e.code}: `) ? e.message.split(',')[0]! : e.code;
}

/** The one-line error for a file that cannot be written, naming the path and the system's reason; a UserError passes. */
export function cannotWrite(path: string, err: unknown): UserError {
  return err instanceof UserError ? err : new UserError(`${path}: cannot write (${reasonOf(err)})`);
}

/** The one-line error for a folder that cannot be created (a file in the way, no permission, …). */
export function cannotCreateFolder(path: string, err: unknown): UserError {
  return err instanceof UserError ? err : new UserError(`${path}: cannot create the folder (${reasonOf(err)})`);
}
