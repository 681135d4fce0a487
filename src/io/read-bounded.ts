// Reading a file the user named, without trusting what it is: a device (/dev/zero) would be read
// forever, a FIFO with no writer would block forever. The file is opened non-blocking, checked
// with fstat on the descriptor (no race with a rename), and read up to a cap no real certificate,
// key or config reaches.
import { closeSync, constants, existsSync, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import { UserError } from '../errors.js';
import { readReason } from './fs-errors.js';
import { shownValue } from './shown.js';

/** Certificates, keys, bundles, configs: the largest real ones are a few dozen KiB. */
export const MAX_INPUT_BYTES = 1024 * 1024;

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/**
 * Reads at most `max` bytes from an open descriptor; more is an error. `size`: what fstat said,
 * so that a run reading a thousand small files does not allocate 64 KiB for each. A first read
 * that returns exactly that size (one byte less than asked for) has the whole file: no second
 * read, no copy.
 */
function readAll(fd: number, max: number, shown: string, size?: number): Buffer {
  const chunks: Buffer[] = [];
  let total = 0;
  // One byte more than the file holds: a read that fills the buffer means the file grew.
  const buf = Buffer.allocUnsafe(Math.min(Math.max((size ?? 64 * 1024) + 1, 512), 64 * 1024));
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (err) {
      // A non-blocking standard input with nothing yet: wait a little (readFileSync(0) does the same).
      if ((err as NodeJS.ErrnoException).code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
        continue;
      }
      throw err;
    }
    if (n === size && chunks.length === 0 && n < buf.length) return buf.subarray(0, n);
    if (n === 0) return Buffer.concat(chunks, total);
    total += n;
    if (total > max) throw new UserError(`${shown} is larger than ${max / 1024} KiB: not a certificate, key or config file`);
    chunks.push(Buffer.from(buf.subarray(0, n)));
  }
}

/**
 * The bytes of a regular file (or standard input for '-'), at most `max`. Throws a one-line
 * UserError naming the path for a missing file, a device, a FIFO, a folder, or a file too large.
 * `onStat` gets what fstat said of the file read (before the read): a stamp of these bytes.
 */
export function readBounded(path: string, opts?: { max?: number; what?: string; onStat?: (st: Stats) => void }): Buffer;
/** `missingOk`: a file that does not exist (as existsSync says) is undefined, not an error (one open, no stat first). */
export function readBounded(path: string, opts: { max?: number; what?: string; onStat?: (st: Stats) => void; missingOk: true }): Buffer | undefined;
export function readBounded(path: string, opts: { max?: number; what?: string; onStat?: (st: Stats) => void; missingOk?: boolean } = {}): Buffer | undefined {
  const max = opts.max ?? MAX_INPUT_BYTES;
  const shown = opts.what ?? (path === '-' ? 'standard input' : shownValue(path));
  if (path === '-') return readAll(0, max, shown);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    // Absent as existsSync would say: no entry, a file where a folder should be, a folder it may
    // not search. The stat is made only when the open failed.
    if (opts.missingOk && ((err as NodeJS.ErrnoException).code === 'ENOENT' || !existsSync(path))) return undefined;
    throw new UserError(`${shown} ${readReason(err)}`, { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new UserError(`${shown} is ${kindOf(st)}: give a regular file`);
    if (st.size > max) throw new UserError(`${shown} is larger than ${max / 1024} KiB: not a certificate, key or config file`);
    const bytes = readAll(fd, max, shown, st.size);
    opts.onStat?.(st);
    return bytes;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${shown} ${readReason(err)}`, { cause: err });
  } finally {
    closeSync(fd);
  }
}
