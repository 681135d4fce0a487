// Staged mode: put a chain in service by writing it into the directory services read, then
// reloading them. Each file is replaced atomically; the key is written 0600 unless the file it
// replaces had another owner or mode (a service reading its key as root:ssl-cert 0640 keeps it).
import { accessSync, chownSync, constants, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, type Stats } from 'node:fs';
import { chown, mkdir, readFile, rename, rm, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Exit, UserError } from '../errors.js';
import { writeFileAtomic, writeFilesAtomicSync, type FilesWriter } from '../state/atomic.js';
import { removeTempFiles, removeTempFilesAsync, tidyLinkTemps } from '../state/tidy.js';
import { loadExeca } from '../child-process.js';

const FILES: [string, number][] = [
  ['privkey.pem', 0o600],
  ['cert.pem', 0o644],
  ['chain.pem', 0o644],
  ['fullchain.pem', 0o644],
];

/**
 * The file operations of a promotion. One service's run makes them on the event loop's thread,
 * where the crash test (strace, main thread) kills it at each; a batch (a writer given, which
 * writes on the file system's threads too) makes those that change the file system there: a
 * synchronous create or rename in a run promoting hundreds of services waits behind their fsyncs
 * with every other service stopped. What only reads metadata (stat, lstat, readlink, readdir) is
 * done on this thread in both: a pool round trip cost the event loop more than the call (a dozen
 * per promotion: every file's owner is read before, from and after).
 */
interface LinkIo {
  lstat(path: string): Promise<Stats>;
  stat(path: string): Promise<Stats>;
  readlink(path: string): Promise<string>;
  readdir(path: string): Promise<string[]>;
  readFile(path: string): Promise<Buffer>;
  mkdir(path: string, opts: { recursive: true; mode: number }): Promise<unknown>;
  rm(path: string, opts: { force: true; recursive?: true }): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  chown(path: string, uid: number, gid: number): Promise<void>;
}

const READS: Pick<LinkIo, 'lstat' | 'stat' | 'readlink' | 'readdir'> = {
  lstat: async (p) => lstatSync(p),
  stat: async (p) => statSync(p),
  readlink: async (p) => readlinkSync(p),
  readdir: async (p) => readdirSync(p),
};

const THREADED: LinkIo = { ...READS, readFile: (p) => readFile(p), mkdir, rm, symlink: (t, p) => symlink(t, p), rename, chown };

const IN_LOOP: LinkIo = {
  ...READS,
  readFile: async (p) => readFileSync(p),
  mkdir: async (p, o) => mkdirSync(p, o),
  rm: async (p, o) => rmSync(p, o),
  symlink: async (t, p) => symlinkSync(t, p),
  rename: async (f, t) => renameSync(f, t),
  chown: async (p, u, g) => chownSync(p, u, g),
};

/**
 * Checks, before any DNS change, that the activate dir can be written when a promotion comes: a
 * file at its path, a missing or read-only parent, a read-only folder are found now, as one line.
 */
export function checkActivateDir(activateDir: string): void {
  const bad = (why: string) => new UserError(`--activate-dir ${activateDir} ${why}`);
  let st;
  try {
    st = lstatSync(activateDir);
  } catch {
    // absent: dane-hook makes it, next to its parent's other entries
  }
  const writable = (path: string) => {
    try {
      accessSync(path, constants.W_OK | constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  const parent = dirname(activateDir);
  let parentSt;
  try {
    parentSt = lstatSync(parent);
  } catch {
    throw bad(`cannot be made: its parent ${parent} does not exist`);
  }
  if (!parentSt.isDirectory() && !parentSt.isSymbolicLink()) throw bad(`cannot be made: its parent ${parent} is not a directory`);
  if (st?.isSymbolicLink() || st === undefined) {
    // Swapped by a rename next to it, with the versions beside it: the parent must be writable.
    if (!writable(parent)) throw bad(`cannot be written: its parent ${parent} is not writable by uid ${process.getuid?.() ?? '?'}`);
    return;
  }
  if (!st.isDirectory()) throw bad('is a file, not a directory: remove it or give another path');
  if (!writable(activateDir)) throw bad(`is a directory that uid ${process.getuid?.() ?? '?'} cannot write to`);
}

/**
 * The activate dir is a symlink to a folder per chain, swapped with one rename: a service never
 * sees a new key beside an old certificate. An activate dir that already is a real folder (made
 * by hand) gets its files replaced one by one instead, the key last.
 */
export async function writeActivateDir(fromDir: string, activateDir: string, writer?: FilesWriter): Promise<void> {
  const io = writer ? THREADED : IN_LOOP;
  const write = writer ?? writeFilesAtomicSync;
  let real = false;
  try {
    real = !(await io.lstat(activateDir)).isSymbolicLink();
  } catch {
    // absent: make it a symlink
  }
  if (real) {
    const files = await Promise.all(FILES.map(async ([name, mode]) => ({ path: join(activateDir, name), from: join(fromDir, name), ...((await ownerOfIn(IN_LOOP, join(activateDir, name))) ?? { mode }) })));
    checkCanChown(files);
    for (const f of [...files].reverse()) {
      writeFileAtomic(f.path, readFileSync(f.from), f.mode);
      await keepOwner(IN_LOOP, f.path, f);
    }
    removeTempFiles(activateDir, 0); // a killed promotion's
    return;
  }
  let previous: string | undefined;
  try {
    previous = await io.readlink(activateDir);
  } catch {
    // first activation
  }
  const versions = `${activateDir}.versions`;
  const version = join(versions, basename(fromDir));
  // A new version's files get the owner and modes the live one was given (by hand, after the last run).
  // (Through the link, still pointing at the previous version.)
  const files = await Promise.all(FILES.map(async ([name, mode]) => ({ path: join(version, name), from: join(fromDir, name), ...((previous !== undefined && (await ownerOfIn(io, join(activateDir, name)))) || { mode }) })));
  checkCanChown(files);
  // A version folder that is there already is a killed promotion's: its temp files go.
  await (writer ? removeTempFilesAsync(version, 0) : removeTempFiles(version, 0));
  await io.mkdir(version, { recursive: true, mode: 0o755 });
  // Not live until the link swaps: the files are written together, the folder synced once. A stored
  // file that already has the mode and owner its version needs is linked, not written again.
  const entries = await Promise.all(files.map(async (f) => ((await sameOwner(io, f.from, f)) ? { name: basename(f.path), linkFrom: f.from, mode: f.mode } : { name: basename(f.path), data: await io.readFile(f.from), mode: f.mode })));
  await write(version, entries);
  for (const f of files) await keepOwner(io, f.path, f);
  const tmp = `${activateDir}.tmp-${process.pid}`;
  await io.rm(tmp, { force: true });
  await io.symlink(version, tmp);
  await io.rename(tmp, activateDir);
  // Keep the chain now live and the one before it (a service may still hold its files open).
  for (const old of await io.readdir(versions)) {
    const dir = join(versions, old);
    if (dir !== version && dir !== previous) await io.rm(dir, { recursive: true, force: true });
  }
  tidyLinkTemps(activateDir);
}

interface Owner {
  mode: number;
  uid?: number;
  gid?: number;
}

/**
 * The file at `path` has exactly the mode and owner wanted (no owner named: this process's), so a
 * hard link to it is what a fresh copy would be. (A link shares them: a later chmod of the live
 * key by hand also changes the state dir's copy, whose chain folder (0700) only dane-hook reads.)
 */
async function sameOwner(io: LinkIo, path: string, want: Owner): Promise<boolean> {
  const have = await ownerOfIn(io, path);
  if (!have || have.mode !== want.mode) return false;
  return have.uid === (want.uid ?? process.getuid?.()) && have.gid === (want.gid ?? process.getgid?.());
}

const ownerFrom = (st: { mode: number; uid: number; gid: number }): Owner => ({ mode: st.mode & 0o7777, uid: st.uid, gid: st.gid });

async function ownerOfIn(io: LinkIo, path: string): Promise<Owner | undefined> {
  try {
    return ownerFrom(await io.stat(path));
  } catch {
    return undefined;
  }
}

/** Refuses before any file changes when an owner cannot be kept (not root, not our file). */
function checkCanChown(files: (Owner & { path: string })[]): void {
  if (process.getuid === undefined || process.getuid() === 0) return;
  const uid = process.getuid();
  const groups = [process.getgid!(), ...(process.getgroups?.() ?? [])];
  for (const f of files) {
    if ((f.uid !== undefined && f.uid !== uid) || (f.gid !== undefined && !groups.includes(f.gid))) {
      throw new UserError(`${f.path} belongs to ${f.uid}:${f.gid}, which dane-hook (uid ${uid}) cannot give its replacement: run it as root or as that owner`);
    }
  }
}

async function keepOwner(io: LinkIo, path: string, owner: Owner): Promise<void> {
  if (owner.uid === undefined || owner.gid === undefined) return;
  const now = await io.stat(path);
  if (now.uid !== owner.uid || now.gid !== owner.gid) await io.chown(path, owner.uid, owner.gid);
}

/** Runs the reload command (split into words; no shell). */
export async function reload(command: string): Promise<void> {
  try {
    const { execa, parseCommandString } = await loadExeca();
    const [file, ...args] = parseCommandString(command);
    await execa(file!, args, { timeout: 120_000, stdin: 'ignore' });
  } catch (err) {
    const e = err as { shortMessage?: string; stderr?: string; message: string };
    const detail = (e.stderr ?? '').trim().split('\n').slice(-1)[0];
    throw new UserError(`reload command '${command}' failed: ${e.shortMessage ?? e.message}${detail ? ` (${detail})` : ''}; the old records stay until a reload succeeds (the next run tries again)`, {
      exitCode: Exit.RELOAD_FAILED,
      cause: err,
    });
  }
}
