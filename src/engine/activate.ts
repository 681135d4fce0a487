// Staged mode: put a chain in service by writing it into the directory services read, then
// reloading them. Each file is replaced atomically; the key is written 0600.
import { lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execaCommand } from 'execa';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../state/atomic.js';

const FILES: [string, number][] = [
  ['privkey.pem', 0o600],
  ['cert.pem', 0o644],
  ['chain.pem', 0o644],
  ['fullchain.pem', 0o644],
];

/**
 * The activate dir is a symlink to a folder per chain, swapped with one rename: a service never
 * sees a new key beside an old certificate. An activate dir that already is a real folder (made
 * by hand) gets its files replaced one by one instead, the key last.
 */
export function writeActivateDir(fromDir: string, activateDir: string): void {
  let real = false;
  try {
    real = !lstatSync(activateDir).isSymbolicLink();
  } catch {
    // absent: make it a symlink
  }
  if (real) {
    for (const [name, mode] of [...FILES].reverse()) writeFileAtomic(join(activateDir, name), readFileSync(join(fromDir, name)), mode);
    return;
  }
  const version = join(`${activateDir}.versions`, basename(fromDir));
  mkdirSync(version, { recursive: true, mode: 0o755 });
  for (const [name, mode] of FILES) writeFileAtomic(join(version, name), readFileSync(join(fromDir, name)), mode);
  let previous: string | undefined;
  try {
    previous = readlinkSync(activateDir);
  } catch {
    // first activation
  }
  const tmp = `${activateDir}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(version, tmp);
  renameSync(tmp, activateDir);
  // Keep the chain now live and the one before it (a service may still hold its files open).
  for (const old of readdirSync(`${activateDir}.versions`)) {
    const dir = join(`${activateDir}.versions`, old);
    if (dir !== version && dir !== previous) rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs the reload command (split into words; no shell). */
export async function reload(command: string): Promise<void> {
  try {
    await execaCommand(command, { timeout: 120_000, stdin: 'ignore' });
  } catch (err) {
    const e = err as { shortMessage?: string; stderr?: string; message: string };
    const detail = (e.stderr ?? '').trim().split('\n').slice(-1)[0];
    throw new UserError(`reload command '${command}' failed: ${e.shortMessage ?? e.message}${detail ? ` (${detail})` : ''}; the new chain is in the activate dir, the old records stay until a reload succeeds`, {
      cause: err,
    });
  }
}
