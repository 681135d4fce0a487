// Staged mode: put a chain in service by writing it into the directory services read, then
// reloading them. Each file is replaced atomically; the key is written 0600 unless the file it
// replaces had another owner or mode (a service reading its key as root:ssl-cert 0640 keeps it).
import { accessSync, chownSync, constants, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Exit, UserError } from '../errors.js';
import { writeFileAtomic, writeFilesAtomicSync, type FilesWriter } from '../state/atomic.js';
import { removeTempFiles, tidyLinkTemps } from '../state/tidy.js';
import { loadExeca } from '../child-process.js';

const FILES: [string, number][] = [
  ['privkey.pem', 0o600],
  ['cert.pem', 0o644],
  ['chain.pem', 0o644],
  ['fullchain.pem', 0o644],
];

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
export async function writeActivateDir(fromDir: string, activateDir: string, write: FilesWriter = writeFilesAtomicSync): Promise<void> {
  let real = false;
  try {
    real = !lstatSync(activateDir).isSymbolicLink();
  } catch {
    // absent: make it a symlink
  }
  if (real) {
    const files = FILES.map(([name, mode]) => ({ path: join(activateDir, name), from: join(fromDir, name), ...(ownerOf(join(activateDir, name)) ?? { mode }) }));
    checkCanChown(files);
    for (const f of [...files].reverse()) writeKeeping(f.path, readFileSync(f.from), f);
    removeTempFiles(activateDir, 0); // a killed promotion's
    return;
  }
  let previous: string | undefined;
  try {
    previous = readlinkSync(activateDir);
  } catch {
    // first activation
  }
  const version = join(`${activateDir}.versions`, basename(fromDir));
  // A new version's files get the owner and modes the live one was given (by hand, after the last run).
  // (Through the link, still pointing at the previous version.)
  const files = FILES.map(([name, mode]) => ({ path: join(version, name), from: join(fromDir, name), ...((previous !== undefined && ownerOf(join(activateDir, name))) || { mode }) }));
  checkCanChown(files);
  // A version folder that is there already is a killed promotion's: its temp files go.
  if (existsSync(version)) removeTempFiles(version, 0);
  mkdirSync(version, { recursive: true, mode: 0o755 });
  // Not live until the link swaps: the files are written together, the folder synced once. A stored
  // file that already has the mode and owner its version needs is linked, not written again.
  await write(version, files.map((f) => (sameOwner(f.from, f) ? { name: basename(f.path), linkFrom: f.from, mode: f.mode } : { name: basename(f.path), data: readFileSync(f.from), mode: f.mode })));
  for (const f of files) keepOwner(f.path, f);
  const tmp = `${activateDir}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(version, tmp);
  renameSync(tmp, activateDir);
  // Keep the chain now live and the one before it (a service may still hold its files open).
  for (const old of readdirSync(`${activateDir}.versions`)) {
    const dir = join(`${activateDir}.versions`, old);
    if (dir !== version && dir !== previous) rmSync(dir, { recursive: true, force: true });
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
function sameOwner(path: string, want: Owner): boolean {
  const have = ownerOf(path);
  if (!have || have.mode !== want.mode) return false;
  return have.uid === (want.uid ?? process.getuid?.()) && have.gid === (want.gid ?? process.getgid?.());
}

function ownerOf(path: string): Owner | undefined {
  try {
    const st = statSync(path);
    return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
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

function writeKeeping(path: string, data: Buffer, owner: Owner): void {
  writeFileAtomic(path, data, owner.mode);
  keepOwner(path, owner);
}

function keepOwner(path: string, owner: Owner): void {
  if (owner.uid === undefined || owner.gid === undefined) return;
  const now = statSync(path);
  if (now.uid !== owner.uid || now.gid !== owner.gid) chownSync(path, owner.uid, owner.gid);
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
