// Crash-safe file writes: temp file in the same directory, fsync, rename, fsync the directory.
// A reader sees the old content or the new, never a torn file.
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
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

function write(path: string, data: string | Buffer, mode: number): void {
  const dir = dirname(path);
  // Folders made here are the state dir's (the activate dir's are made by activate.ts): private.
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  // The mode is set at creation, so a private key is never readable by others, even briefly.
  const fd = openSync(tmp, 'wx', mode);
  try {
    fchmodSync(fd, mode); // exact, whatever the umask (systemd units often set UMask=0077)
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
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
  fsyncDir(dir);
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
