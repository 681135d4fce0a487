// The state dir: one folder per service holding state.json (atomic), its lock, and copies of the
// chains it knows (so a staged chain survives the ACME client's next renewal).
import { existsSync, readdirSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { ServiceSettings } from '../config/types.js';
import type { RolloverState } from '../rollover/types.js';
import type { CertSeen } from '../acme/types.js';
import { writeFileAtomic, writeFileAtomicAsync } from './atomic.js';
import { ID_PATTERN } from '../config/fields.js';
import { readBounded } from '../io/read-bounded.js';
import { settledStats } from '../io/file-stamp.js';
import { oneLine, shownValue } from '../io/shown.js';
import { stateProblem } from './validate.js';
import { pruneChains, tidyActivateDir, tidyServiceDir, tidyServiceDirAsync } from './tidy.js';

/** A state file holds 50 history lines and a few chains: far below this. */
const MAX_STATE_BYTES = 8 * 1024 * 1024;

/** What dane-hook knows about a stored chain, beside its records (kept in the rollover state). */
export interface ChainInfo {
  id: string;
  /** Folder with cert.pem, chain.pem, fullchain.pem, privkey.pem (0600). */
  dir: string;
  subject: string;
  issuer: string;
  notAfter: string;
  keyType: string;
  /** hex of the leaf's SPKI */
  spki: string;
  addedAt: number;
}

export interface ServiceFile {
  version: 1;
  id: string;
  /** Settings as last given: `advance` with only --state-dir runs on these. */
  settings: ServiceSettings;
  rollover: RolloverState;
  /** A service with several lineages: each lineage's rollover, by key type (`rollover` stays empty). */
  lineages?: Record<string, RolloverState>;
  chains: Record<string, ChainInfo>;
  /** Path of the next key announced by pre-renew. */
  nextKeyFile?: string;
  /** The configured certificate file as last seen (advance's renewal check skips an unchanged one). */
  certSeen?: CertSeen;
  /** Last few things that happened, newest last (for status). */
  history: { at: number; what: string }[];
  updatedAt: number;
}

export const serviceDir = (stateDir: string, id: string): string => join(stateDir, 'services', id);
const statePath = (stateDir: string, id: string) => join(stateDir, 'services', id, 'state.json');
export const lockPath = (stateDir: string, id: string): string => join(serviceDir(stateDir, id), 'lock');

export function loadService(stateDir: string, id: string): ServiceFile | undefined {
  return loadServiceText(stateDir, id)?.file;
}

/**
 * The state file, checked, and its text as read (a run that changes nothing compares it to skip the
 * write). `settled`: the file's fstat at the read when it had been left alone long enough that a
 * later stat tells any rewrite (io/file-stamp.ts); undefined otherwise.
 */
export function loadServiceText(stateDir: string, id: string): { file: ServiceFile; text: string; settled?: Stats } | undefined {
  const path = statePath(stateDir, id);
  if (!ID_PATTERN.test(id)) throw new UserError(`state dir ${shownValue(stateDir)}: service folder ${shownValue(id)} is not a valid id (a-z 0-9 . _ -, 1-64)`);
  let data: unknown;
  let text: string;
  let st: Stats | undefined;
  try {
    // No stat first: a missing file is one failed open (a timer run reads a thousand of these).
    const bytes = readBounded(path, { max: MAX_STATE_BYTES, onStat: (s) => (st = settledStats(s) ? s : undefined), missingOk: true });
    if (bytes === undefined) return undefined;
    text = bytes.toString('utf8');
    data = JSON.parse(text);
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`state file ${path} is not readable JSON (${(err as Error).message}); restore it from a backup or remove it to start over`);
  }
  const problem = stateProblem(data, id);
  if (problem) throw new UserError(`state file ${path}: ${oneLine(problem)}; restore it from a backup or remove the file to start over`);
  return { file: data as ServiceFile, text, settled: st };
}

/** The state file's text as it is now ('' when there is none), to tell whether another run wrote it. */
export function stateFileText(stateDir: string, id: string): string {
  const path = statePath(stateDir, id);
  return readBounded(path, { max: MAX_STATE_BYTES, missingOk: true })?.toString('utf8') ?? '';
}

/** What stat says of the state file now (undefined when there is none). */
export const stateFileStat = (stateDir: string, id: string): Stats | undefined => statSync(statePath(stateDir, id), { throwIfNoEntry: false });

/** Saves atomically (under the service's lock), then prunes old chain copies and leftovers. */
export function saveService(stateDir: string, file: ServiceFile): void {
  writeFileAtomic(statePath(stateDir, file.id), stateJson(file).text, 0o600);
  tidyServiceDir(serviceDir(stateDir, file.id), file);
  tidyActivateDirs(file);
}

/**
 * saveService without blocking: many services saving at once share the file system's syncs. A
 * run over many services tidies the service's folder (chain folders the state no longer names,
 * temp files) only when `tidy` says this run may have left something there: each tidy reads
 * several folders. Chains pruned from the state go at once. The activate dir is tidied by its
 * writer (engine/activate.ts), when it writes there.
 */
export async function saveServiceAsync(stateDir: string, file: ServiceFile, tidy = true): Promise<void> {
  const { text, pruned } = stateJson(file);
  await writeFileAtomicAsync(statePath(stateDir, file.id), text, 0o600);
  if (tidy || pruned) await tidyServiceDirAsync(serviceDir(stateDir, file.id), file);
}

function stateJson(file: ServiceFile): { text: string; pruned: boolean } {
  file.history = file.history.slice(-50);
  const pruned = pruneChains(file).length > 0;
  return { text: savedText(file), pruned };
}

/** The text saveService writes for a file (history and chains already trimmed). */
export const savedText = (file: ServiceFile): string => `${JSON.stringify(file, null, 2)}\n`;

function tidyActivateDirs(file: ServiceFile): void {
  for (const dir of [file.settings.activateDir, ...(file.settings.lineages ?? []).map((l) => l.activateDir)]) if (dir) tidyActivateDir(dir);
}

/** The rollover a service (or one lineage's view of it) reads from its state file. */
export function rolloverOf(file: Pick<ServiceFile, 'rollover' | 'lineages'> | undefined, view: Pick<ServiceSettings, 'lineage'>): RolloverState | undefined {
  return view.lineage ? file?.lineages?.[view.lineage] : file?.rollover;
}

/**
 * The folders of a state dir's services that may hold a state file, sorted: a caller that loads
 * each one learns from the load (undefined) whether it does, with no stat per folder first. A
 * folder that is no valid id is listed only when it holds a state file: loading it then says what
 * is wrong, for it alone.
 */
export function serviceFolders(stateDir: string): string[] {
  const dir = join(stateDir, 'services');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((id) => ID_PATTERN.test(id) || existsSync(statePath(stateDir, id)))
    .sort();
}
