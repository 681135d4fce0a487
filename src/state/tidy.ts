// What killed runs and years of renewals leave in a service's folder: temp files of writes that
// never reached their rename, and a copy (with its private key) of every chain ever deployed.
// Runs under the service's lock, after the state is saved, so nothing it removes is still named
// by the state on disk or being written by another run.
import { readdirSync, rmSync, type Dirent } from 'node:fs';
import { rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { RolloverState } from '../rollover/types.js';

/** The temp names writeFileAtomic uses: .NAME.PID.RANDOM.tmp */
export const TEMP_FILE = /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/;

/** Chains kept besides those in play: a rollback target and the one before it. */
export const KEEP_RECENT = 2;

interface Chains {
  rollover: RolloverState;
  lineages?: Record<string, RolloverState>;
  chains: Record<string, { id: string; dir: string; addedAt: number }>;
}

/** Ids of the chains to keep: every chain the rollover still names, and the newest others. */
export function chainsToKeep(file: Chains): Set<string> {
  const states = [file.rollover, ...Object.values(file.lineages ?? {})];
  const inPlay = new Set(states.flatMap((r) => [r.inService, r.pending, ...(r.waiting ?? []), r.retiring, r.next].flatMap((c) => (c ? [c.id] : []))));
  const newest = Object.values(file.chains)
    .sort((a, b) => b.addedAt - a.addedAt)
    .slice(0, KEEP_RECENT)
    .map((c) => c.id);
  return new Set([...Object.keys(file.chains).filter((id) => inPlay.has(id)), ...newest]);
}

/** Drops pruned chains from the state (before it is saved). Returns their folders. */
export function pruneChains(file: Chains): string[] {
  const keep = chainsToKeep(file);
  const dropped: string[] = [];
  for (const [id, info] of Object.entries(file.chains)) {
    if (keep.has(id)) continue;
    dropped.push(info.dir);
    delete file.chains[id];
  }
  return dropped;
}

interface Entry {
  name: string;
  isDir: boolean;
}

/** What to do with one entry of a folder: remove it (a file, or a whole folder), go into it with a rule, or leave it. */
type Act = { rm: 'file' | 'tree' } | { into: Rule } | undefined;
/** The decision, pure: the sync and the async walk below only do the I/O it asks for. */
type Rule = (e: Entry, path: string) => Act;

/** Temp files `depth` folders down. */
const temps =
  (depth: number): Rule =>
  (e) =>
    e.isDir ? (depth > 0 ? { into: temps(depth - 1) } : undefined) : TEMP_FILE.test(e.name) ? { rm: 'file' } : undefined;

/** A service's folder: temp files two levels down, and the chain folders the state does not name. */
function serviceRule(file: Chains): Rule {
  const named = new Set(Object.values(file.chains).map((c) => c.dir));
  const chains: Rule = (e, path) => (!e.isDir ? temps(0)(e, path) : named.has(path) ? { into: temps(0) } : { rm: 'tree' });
  return (e, path) => (!e.isDir ? temps(0)(e, path) : e.name === 'chains' ? { into: chains } : { into: temps(1) });
}

// isDirectory of the entry itself: a symlink (the activate dir's temp link) is not followed.
const asEntries = (list: Dirent[]): Entry[] => list.map((d) => ({ name: d.name, isDir: d.isDirectory() }));

function entries(dir: string): Entry[] {
  try {
    return asEntries(readdirSync(dir, { withFileTypes: true }));
  } catch {
    return [];
  }
}

/** Each folder read once; nothing the rule keeps is looked into. */
function walk(dir: string, rule: Rule): void {
  for (const e of entries(dir)) {
    const path = join(dir, e.name);
    const act = rule(e, path);
    if (act === undefined) continue;
    if ('into' in act) walk(path, act.into);
    else rmSync(path, { recursive: act.rm === 'tree', force: true });
  }
}

/**
 * walk with its removals on the libuv pool: a run over many services tidies hundreds of folders at
 * once. Folders are read on this thread (a read of a small folder costs less than a pool round trip).
 */
async function walkAsync(dir: string, rule: Rule): Promise<void> {
  for (const e of entries(dir)) {
    const path = join(dir, e.name);
    const act = rule(e, path);
    if (act === undefined) continue;
    if ('into' in act) await walkAsync(path, act.into);
    else await rm(path, { recursive: act.rm === 'tree', force: true });
  }
}

/** Removes temp files left under `dir` (and its folders) by writes that were killed. */
export function removeTempFiles(dir: string, depth = 2): void {
  walk(dir, temps(depth));
}

/** removeTempFiles on the libuv pool. */
export function removeTempFilesAsync(dir: string, depth = 2): Promise<void> {
  return walkAsync(dir, temps(depth));
}

/**
 * After the state is durable: removes chain folders it no longer names (pruned ones, and those a
 * killed deploy stored but never recorded) and temp files.
 */
export function tidyServiceDir(serviceDir: string, file: Chains): void {
  walk(serviceDir, serviceRule(file));
}

/** tidyServiceDir without blocking the thread. */
export function tidyServiceDirAsync(serviceDir: string, file: Chains): Promise<void> {
  return walkAsync(serviceDir, serviceRule(file));
}

/**
 * Folders whose stale link temp names this process removed already: the parent usually holds every
 * service's activate dir, and reading it at each save made a 10,000-service run quadratic. A link
 * a killed run left is gone after the first save of the next run.
 */
const parentsTidied = new Map<string, Set<string>>();

/** Temp files a killed promotion left in the activate dir, its versions, and its link's temp name. */
export function tidyActivateDir(activateDir: string): void {
  removeTempFiles(activateDir, 0);
  removeTempFiles(`${activateDir}.versions`, 1);
  tidyLinkTemps(activateDir);
}

/** The temp names (NAME.tmp-PID) of the activate dir's link that killed runs left beside it. */
export function tidyLinkTemps(activateDir: string): void {
  const parent = dirname(activateDir);
  let stale = parentsTidied.get(parent);
  if (!stale) {
    // Once per parent: the names of every leftover link temp name there, whoever's they are.
    stale = new Set(entries(parent).filter((e) => /\.tmp-\d+$/.test(e.name)).map((e) => e.name));
    parentsTidied.set(parent, stale);
  }
  const link = new RegExp(`^${basename(activateDir).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.tmp-\\d+$`);
  for (const name of [...stale]) {
    if (!link.test(name)) continue;
    rmSync(join(parent, name), { force: true });
    stale.delete(name);
  }
}
