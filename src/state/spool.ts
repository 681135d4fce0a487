// Renewals a deploy hook recorded instead of acting on them (`deploy --spool`), so that 500
// renewed lineages cost 500 small files and one batched run (certbot --post-hook / the advance
// timer), not 500 full runs. One file per renewal in <state dir>/spool/, written atomically, named
// so that a sorted listing is the order they came in. An entry is removed only once its deploy ran.
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { CertFiles, Client } from '../acme/types.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from './atomic.js';

export interface SpoolEntry {
  version: 1;
  /** ms since epoch, when the hook ran */
  at: number;
  files: CertFiles;
}

export const spoolDir = (stateDir: string): string => join(stateDir, 'spool');

/** Writes one entry; returns its path. */
export function writeSpoolEntry(stateDir: string, files: CertFiles, now = Date.now()): string {
  const name = `${String(now).padStart(15, '0')}-${process.pid}-${randomBytes(3).toString('hex')}.json`;
  const path = join(spoolDir(stateDir), name);
  const entry: SpoolEntry = { version: 1, at: now, files };
  writeFileAtomic(path, `${JSON.stringify(entry)}\n`, 0o600);
  return path;
}

export interface Spooled {
  path: string;
  entry?: SpoolEntry;
  /** Why the file is not a valid entry (it is kept, and named in every run's output). */
  error?: string;
}

/** The entries in the order they were written; a missing spool dir is an empty spool. */
export function readSpool(stateDir: string): Spooled[] {
  let names: string[];
  try {
    names = readdirSync(spoolDir(stateDir)).filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new UserError(`spool dir ${spoolDir(stateDir)} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return names.map((n) => {
    const path = join(spoolDir(stateDir), n);
    try {
      return { path, entry: parseEntry(JSON.parse(readFileSync(path, 'utf8'))) };
    } catch (err) {
      return { path, error: err instanceof SyntaxError ? 'not JSON' : (err as Error).message };
    }
  });
}

export function removeSpoolEntry(path: string): void {
  rmSync(path, { force: true });
}

const CLIENTS: readonly Client[] = ['certbot', 'acme.sh', 'dehydrated', 'lego', 'flags'];
const isPath = (v: unknown): v is string => typeof v === 'string' && v.startsWith('/') && !/[\0\n\r]/.test(v);

function parseEntry(raw: unknown): SpoolEntry {
  const e = raw as Partial<SpoolEntry> | null;
  if (typeof e !== 'object' || e === null || e.version !== 1) throw new Error('not a version 1 spool entry');
  if (typeof e.at !== 'number' || !Number.isFinite(e.at)) throw new Error('at: not a time');
  const f = e.files as Partial<CertFiles> | undefined;
  if (typeof f !== 'object' || f === null) throw new Error('files: missing');
  if (!CLIENTS.includes(f.client as Client)) throw new Error(`files.client: ${JSON.stringify(f.client)} is not a known ACME client`);
  if (!isPath(f.cert) || !isPath(f.key)) throw new Error('files.cert and files.key must be absolute paths');
  for (const k of ['chain', 'fullchain', 'nextKey', 'lineage'] as const) {
    if (f[k] !== undefined && !isPath(f[k])) throw new Error(`files.${k}: not an absolute path`);
  }
  if (!Array.isArray(f.domains) || !f.domains.every((d) => typeof d === 'string' && !/[\0\n\r\s]/.test(d))) throw new Error('files.domains: not a list of names');
  return { version: 1, at: e.at, files: f as CertFiles };
}
