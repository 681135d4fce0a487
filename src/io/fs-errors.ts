// File-system failures (a full disk, a read-only mount, a file where a folder should be) are the
// user's to fix, not bugs: one line naming the path and the cause, exit 2, never "internal error".
import { UserError } from '../errors.js';
import { shownValue } from './shown.js';

const REASONS: Record<string, string> = {
  ENOENT: 'does not exist',
  EISDIR: 'is a directory, not a file',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOTDIR: 'a part of the path is not a directory',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EEXIST: 'exists already',
  ENOTEMPTY: 'is a folder that is not empty',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

const VERB: Record<string, string> = { open: 'open', read: 'read', write: 'write', rename: 'rename', mkdir: 'create folder', unlink: 'remove', rm: 'remove', symlink: 'link', fsync: 'sync', chmod: 'chmod', chown: 'chown', copyfile: 'copy', scandir: 'list', stat: 'stat', lstat: 'stat' };

/** The short reason for an errno code, e.g. "no space left on the device (ENOSPC)". */
export function fsReason(code: string | undefined, fallback = 'failed'): string {
  if (code === undefined) return fallback;
  return `${REASONS[code] ?? 'failed'} (${code})`;
}

/** Why a path could not be opened for reading: "does not exist", or "cannot be read: ...". */
export function readReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'ENOTDIR') return 'does not exist (a part of the path is not a directory)';
  return `cannot be read: ${fsReason(code, (err as Error)?.message ?? String(err))}`;
}

type FsError = NodeJS.ErrnoException & { dest?: string };

const isErrno = (err: unknown): err is FsError => err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';

/**
 * A UserError for a Node file-system error that carries a path (ENOSPC, EROFS, EACCES, ...), or
 * undefined for anything else. Codes without a path (EPIPE on a socket...) stay what they are.
 */
export function fsUserError(err: unknown): UserError | undefined {
  if (!isErrno(err) || err.path === undefined || !(err.code! in REASONS)) return undefined;
  const verb = VERB[err.syscall!] ?? err.syscall!;
  const to = err.dest !== undefined ? ` to ${shownValue(err.dest)}` : '';
  const hint = err.code === 'ENOSPC' || err.code === 'EDQUOT' ? '; free some space and run again' : err.code === 'EROFS' ? '; remount it read-write or choose another path' : '';
  return new UserError(`cannot ${verb} ${shownValue(err.path)}${to}: ${fsReason(err.code)}${hint}`, { cause: err });
}
