// One run at a time per service: an exclusive lock file holding the owner's pid, host, time and
// boot id. A lock whose owner is gone (a crash, a kill -9, a reboot, a reused pid, or a torn empty
// file) is taken over under a second, short-lived lock, so two runs taking over the same stale
// lock cannot both end up holding it. (flock(2) would need a native addon: no well-kept
// pure-JS package offers it.)
import { openSync, closeSync, writeSync, mkdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { link, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { hostname } from 'node:os';
import { Exit, UserError } from '../errors.js';
import { fdStamp, fileStamp } from '../io/file-stamp.js';
import { bootId, staleReason } from './owner.js';
import { fdOpen } from './atomic.js';

export interface Lock {
  release(): void;
}

/** A lock file we created: its line, and what stat says of it (release removes only that file). */
interface Mine {
  line: string;
  stamp: string;
}

// Read once per process, as the boot id: a run over many services takes a lock per service.
let host: string | undefined;

/** Our owner line: pid, host, time, a random tag, and the boot id. */
function ownerLine(): string {
  const boot = bootId();
  host ??= hostname();
  return `${process.pid} ${host} ${new Date().toISOString()} ${randomBytes(4).toString('hex')}${boot ? ` ${boot}` : ''}\n`;
}

const exists = (err: unknown) => (err as NodeJS.ErrnoException).code === 'EEXIST';

/** ENOSPC between create and write: an empty lock must not stay behind us (the caller closed it). */
function dropTorn(path: string, err: unknown): never {
  rmSync(path, { force: true });
  if ((err as NodeJS.ErrnoException).path === undefined) (err as NodeJS.ErrnoException).path = path;
  throw err;
}

/** The new lock file, or undefined when the file exists already (the takeover's rare path). */
function create(path: string): Mine | undefined {
  const line = ownerLine();
  let fd: number;
  try {
    fd = openSync(path, 'wx', 0o600);
  } catch (err) {
    if (!exists(err)) throw err;
    return undefined;
  }
  let stamp: string;
  try {
    writeSync(fd, line);
    stamp = fdStamp(fd);
  } catch (err) {
    closeSync(fd);
    dropTorn(path, err);
  }
  closeSync(fd);
  return { line, stamp };
}

/**
 * create for a run over many services: it takes a lock each, and an O_CREAT open waits on the
 * file system while other services' writes sync; the main thread must not. So the create, and the
 * link and unlink that change the folder, go to the libuv pool; the owner line is written into the
 * open file here, at once (a write queued on the pool behind other services' fsyncs could come
 * seconds after the open, and an empty lock that old is taken over as torn), and the stamp is read
 * here (a pool round trip costs this thread more than the call). The line goes to a temp file that
 * is hard-linked into place (link fails when the lock exists), so the lock is never an empty file
 * at its path. A killed take leaves only the temp file, which the service folder's tidy removes
 * (its name is a temp file's: state/tidy.ts).
 */
async function createAsync(path: string): Promise<Mine | undefined> {
  const line = ownerLine();
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = await fdOpen(temp, 'wx', 0o600);
    try {
      writeSync(fd, line);
    } finally {
      closeSync(fd);
    }
    await link(temp, path);
  } catch (err) {
    // EEXIST from the link (its dest is the lock): held by another run. Anything else is an error.
    if (exists(err) && (err as NodeJS.ErrnoException & { dest?: string }).dest === path) return undefined;
    // A write's ENOSPC names no file: the lock's path is what the user must see.
    if ((err as NodeJS.ErrnoException).path === undefined) (err as NodeJS.ErrnoException).path = path;
    throw err;
  } finally {
    // Also after ENOSPC in the write: no half-written temp stays behind. (unlink, not rm: rm's
    // checks cost more main-thread time than the rest of the take, a lock per service.)
    await unlink(temp).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }
  // After the temp's unlink (it changes the inode's ctime): what release compares.
  return { line, stamp: fileStamp(path) };
}

const readOr = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Our lock file when we took it, else undefined. */
async function tryTake(path: string): Promise<Mine | undefined> {
  return (await createAsync(path)) ?? takeStale(path);
}

/** The lock exists: ours after all when its owner is gone (rare: kept synchronous). */
function takeStale(path: string): Mine | undefined {
  const owner = readOr(path);
  if (owner === undefined) return undefined; // released between our open and read: try again
  if (staleReason(owner, path) === undefined) return undefined;
  return takeOver(path, owner);
}

/**
 * Replaces a dead owner's lock. Takers are serialized by a second O_EXCL file, and the lock is
 * removed only while it still holds the dead owner's exact line: nothing but a taker removes
 * another run's lock, so two runs can never both hold it. A guard left by a taker that died in
 * this microsecond-long section is cleared after 10 s.
 */
function takeOver(path: string, owner: string): Mine | undefined {
  const guard = `${path}.takeover`;
  if (create(guard) === undefined) {
    try {
      if (Date.now() - statSync(guard).mtimeMs > 10_000) rmSync(guard, { force: true });
    } catch {
      // gone already
    }
    return undefined;
  }
  try {
    if (readOr(path) !== owner) return undefined;
    rmSync(path, { force: true });
    return create(path);
  } finally {
    rmSync(guard, { force: true });
  }
}

/**
 * Locks still held when the process exits are released by one exit listener: a run over many
 * services holds a thousand at once, and a listener each would make Node warn on stderr.
 */
const heldLocks = new Set<() => void>();
function releaseAtExit(release: () => void): void {
  if (heldLocks.size === 0) process.on('exit', releaseAll);
  heldLocks.add(release);
}
function releaseAll(): void {
  for (const release of [...heldLocks]) release();
}

/** Takes the lock, waiting up to waitMs for another run to finish. */
export async function acquireLock(path: string, waitMs = 30_000): Promise<Lock> {
  const until = Date.now() + waitMs;
  for (;;) {
    const mine = await tryTakeIn(path);
    if (mine !== undefined) {
      let held = true;
      const release = () => {
        // Only our own file (the same inode, unchanged): never another run's lock that took this path over.
        if (held && stampOr(path) === mine.stamp) unlinkOr(path);
        held = false;
        heldLocks.delete(release);
        if (heldLocks.size === 0) process.removeListener('exit', releaseAll);
      };
      releaseAtExit(release);
      return { release };
    }
    if (Date.now() >= until) {
      let owner = '';
      try {
        owner = readFileSync(path, 'utf8').trim();
      } catch {}
      throw new UserError(`another dane-hook run holds ${path} (${owner || 'unknown owner'}); try again later`, { exitCode: Exit.LOCKED });
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** tryTake, creating the service's folder first when it is missing (a first run). */
async function tryTakeIn(path: string): Promise<Mine | undefined> {
  try {
    return await tryTake(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  // The state dir holds private key copies: created 0700. Made here, on this thread: a first run
  // over many services makes hundreds of folders in one parent, and on the pool's threads they
  // contend for it (a 1,000-service first deploy was ~1 s slower, with seconds more CPU).
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  return tryTake(path);
}

const stampOr = (path: string): string | undefined => {
  try {
    return fileStamp(path);
  } catch {
    return undefined;
  }
};

const unlinkOr = (path: string): void => {
  try {
    unlinkSync(path);
  } catch {
    // gone already
  }
};
