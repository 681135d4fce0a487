// What stat says of a file, as one string: equal stamps, same bytes. A rename onto the path (an
// atomic write, certbot re-pointing a symlink: stat follows it) changes the inode; a write in
// place changes mtime and ctime (which no user can set back).
import { fstatSync, statSync, type BigIntStats, type Stats } from 'node:fs';

/** The stamp of what stat (bigint) said. */
export const stampOf = (st: BigIntStats): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;

/** `dev:ino:size:mtime:ctime` (ns) of the file a path leads to; throws as statSync does. */
export const fileStamp = (path: string): string => stampOf(statSync(path, { bigint: true }));

/** The same of an open file. */
export const fdStamp = (fd: number): string => stampOf(fstatSync(fd, { bigint: true }));

/**
 * Kernels stamp times from a clock that ticks every few ms: a file written again in the same tick
 * keeps its stamp. A stamp kept across runs is only trusted once the file has been left alone
 * this long (git's "racy clean" problem).
 */
export const SETTLED_MS = 2000;

/**
 * The stamp, or undefined while the file changed too recently to be told apart from a rewrite (or
 * cannot be stat'ed: whoever reads it says what is wrong). Taken before the file is read: if it
 * changes in between, the stamp names the older file, which never comes back, so a later check
 * reads again; never the reverse (a new file kept under an old content).
 */
export function settledStamp(path: string, now = Date.now()): string | undefined {
  let st: BigIntStats;
  try {
    st = statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
  const changed = Number(st.ctimeNs > st.mtimeNs ? st.ctimeNs : st.mtimeNs) / 1e6;
  if (!leftAlone(changed, now)) return undefined;
  return stampOf(st);
}

const leftAlone = (changedMs: number, now: number) => changedMs <= now - SETTLED_MS;

/** For a plain Stats already taken (a read's fstat, before the read): trusted as settledStamp's. */
export const settledStats = (st: Stats, now = Date.now()): boolean => leftAlone(Math.max(st.mtimeMs, st.ctimeMs), now);

/** A plain Stats as one string (ms times, to the µs): what sameStats compares, to keep across runs. */
export const statsKey = (st: Stats): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;

/** The same file by stat, as equal stamps say: dev, ino, size, mtime, ctime. */
export const sameStats = (a: Stats, b: Stats | undefined): boolean =>
  b !== undefined && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
