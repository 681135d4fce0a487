// Crash-safe file writes: temp file in the same directory, fsync, rename, fsync the directory.
// A reader sees the old content or the new, never a torn file. A file whose content already lies
// durable elsewhere on the same file system (a stored chain's copy) is hard-linked at the temp name
// instead: the same rename and folder sync, without writing and syncing the bytes again.
import { closeSync, fchmodSync, fsync, fsyncSync, linkSync, mkdirSync, open, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { link, mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';

/** Errors from a descriptor (write, fsync: ENOSPC, EIO) carry no path: give them the file's. */
function withPath(err: unknown, path: string): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.path === undefined) e.path = path;
  return err;
}

export function writeFileAtomic(path: string, data: string | Buffer, mode = 0o644): void {
  try {
    write(path, data, mode);
  } catch (err) {
    throw withPath(err, path);
  }
}

// Temp names: .NAME.PID.HEX8.tmp (tidy.ts TEMP_FILE). A counter from a random start, not 4 random
// bytes per file: a run over many services writes thousands; 'wx' still refuses any clash.
let tempSeq = randomBytes(4).readUInt32BE(0);
const tempName = (dir: string, name: string) => join(dir, `.${name}.${process.pid}.${((tempSeq = (tempSeq + 1) >>> 0)).toString(16).padStart(8, '0')}.tmp`);

/** `syncDir` false: the caller syncs the folder once after several files (writeFilesAtomicSync). */
function write(path: string, data: string | Buffer, mode: number, syncDir = true): void {
  const dir = dirname(path);
  // Folders made here are the state dir's (the activate dir's are made by activate.ts): private.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = tempName(dir, basename(path));
  // The mode is set at creation, so a private key is never readable by others, even briefly.
  const fd = openSync(tmp, 'wx', mode);
  try {
    fchmodSync(fd, mode); // exact, whatever the umask (systemd units often set UMask=0077)
    writeAllSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  if (syncDir) fsyncDir(dir);
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

export interface FileToWrite {
  name: string;
  /** The content; without it, that of `linkFrom`. */
  data?: string | Buffer;
  mode?: number;
  /**
   * A durable file (fsynced when it was written) with this content, mode and owner: hard-linked
   * under the temp name instead of written and fsynced again; written from its content where the
   * file system will not link it (another file system, no hard links).
   */
  linkFrom?: string;
}

/** Errors by which a file system says it will not link this file (then it is copied). */
const NO_LINK = new Set(['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/**
 * Links `from` at `tmp`; false when this file system will not (the caller writes a copy). Other
 * errors (the source gone, no space) are thrown: a copy would fail the same way.
 */
function linkedSync(from: string, tmp: string): boolean {
  try {
    linkSync(from, tmp);
    return true;
  } catch (err) {
    if (NO_LINK.has((err as NodeJS.ErrnoException).code ?? '')) return false;
    throw err;
  }
}

const contentOf = (f: FileToWrite): string | Buffer => f.data ?? readFileSync(f.linkFrom!);

/** How a folder's files are written: at once (one service's run) or without blocking (many.ts). */
export type FilesWriter = (dir: string, files: FileToWrite[]) => void | Promise<void>;

/** Several files of one folder, each like writeFileAtomic, the folder synced once at the end. */
export function writeFilesAtomicSync(dir: string, files: FileToWrite[]): void {
  for (const f of files) {
    const path = join(dir, f.name);
    try {
      if (f.linkFrom !== undefined) {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
        const tmp = tempName(dir, f.name);
        if (linkedSync(f.linkFrom, tmp)) {
          try {
            renameSync(tmp, path);
          } catch (err) {
            rmSync(tmp, { force: true });
            throw err;
          }
          continue;
        }
      }
      write(path, contentOf(f), f.mode ?? 0o644, false);
    } catch (err) {
      throw withPath(err, path);
    }
  }
  fsyncDir(dir);
}

/**
 * Several files of one folder, crash-safe like writeFileAtomic, asynchronously: every file is
 * created and synced at the same time, then renamed, then the folder is synced once. Many
 * services writing at once this way let the file system commit their syncs together (at 1,000
 * services, one synchronous fsync after another was the largest cost of a run). What waits on the
 * file system (create, link, sync, rename) goes to libuv's pool; what only changes the open file
 * in memory (its mode, the write into the page cache, the close) is done here: a pool round trip
 * costs this thread two thread wake-ups and a callback, more than such a call.
 */
export async function writeFilesAtomic(dir: string, files: FileToWrite[]): Promise<void> {
  // The folder is made only when missing (most writes replace a file in a folder that exists).
  let made: Promise<unknown> | undefined;
  const inFolder = async <T>(attempt: () => Promise<T>): Promise<T> => {
    try {
      return await attempt();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await (made ??= mkdir(dir, { recursive: true, mode: 0o700 }));
      return attempt();
    }
  };
  const settled = await Promise.allSettled(
    files.map(async (f) => {
      const path = join(dir, f.name);
      const tmp = tempName(dir, f.name);
      const mode = f.mode ?? 0o644;
      if (f.linkFrom !== undefined && (await inFolder(() => linked(f.linkFrom!, tmp)).catch((err) => Promise.reject(withPath(err, path))))) return { tmp, path };
      let fd: number | undefined;
      try {
        const data = contentOf(f);
        fd = await inFolder(() => fdOpen(tmp, 'wx', mode));
        fchmodSync(fd, mode); // exact, whatever the umask
        writeAllSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
        await fdDone((cb) => fsync(fd!, cb));
        const done = fd;
        fd = undefined;
        closeSync(done);
        return { tmp, path };
      } catch (err) {
        if (fd !== undefined) closeQuietly(fd);
        await rm(tmp, { force: true }).catch(() => undefined); // the first error is the one to tell
        throw withPath(err, path);
      }
    }),
  );
  const staged = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(staged.map((x) => rm(x.tmp, { force: true })));
    throw failed.reason;
  }
  for (const s of staged) {
    try {
      await rename(s.tmp, s.path);
    } catch (err) {
      await Promise.all(staged.map((x) => rm(x.tmp, { force: true })));
      throw withPath(err, s.path);
    }
  }
  await syncDir(dir);
}

async function linked(from: string, tmp: string): Promise<boolean> {
  try {
    await link(from, tmp);
    return true;
  } catch (err) {
    if (NO_LINK.has((err as NodeJS.ErrnoException).code ?? '')) return false;
    throw err;
  }
}

/** open(2) on libuv's pool, through fs's callback: a create waits on the file system. */
export const fdOpen = (path: string, flags: string, mode?: number): Promise<number> =>
  new Promise((resolve, reject) => open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // closing after a failure: the failure is what to tell
  }
}

/** All of `data`, however many writes it takes. */
function writeAllSync(fd: number, data: Buffer): void {
  for (let at = 0; at < data.length; ) {
    const n = writeSync(fd, data, at, data.length - at);
    if (n === 0) throw Object.assign(new Error('the file system took no bytes of a write'), { code: 'EIO' });
    at += n;
  }
}

export const writeFileAtomicAsync = (path: string, data: string | Buffer, mode = 0o644): Promise<void> => writeFilesAtomic(dirname(path), [{ name: basename(path), data, mode }]);

async function syncDir(dir: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    await fdDone((cb) => fsync(fd!, cb));
  } catch {
    // Some file systems refuse fsync on a directory; the renames are still atomic there.
  } finally {
    if (fd !== undefined) closeQuietly(fd);
  }
}

/** A descriptor call (the syncs) through fs's callback: fs/promises' FileHandle costs the event loop's thread more per file. */
const fdDone = (call: (cb: (err: NodeJS.ErrnoException | null) => void) => void): Promise<void> =>
  new Promise((resolve, reject) => call((err) => (err ? reject(err) : resolve())));
