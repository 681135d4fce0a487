// The safety net for a renewal no hook reported: certbot never reruns a deploy hook and ignores
// its failure, so a hook killed before its first state save forgets the renewal for good. The
// periodic run (`advance`) asks this for every service whose files are configured (lineage, or
// cert/key): a leaf on disk that the state does not know, and not older than what it knows, is
// treated as a deploy of those files.
import { X509Certificate, createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { UserError } from '../errors.js';
import { fileStamp, settledStamp } from '../io/file-stamp.js';
import { loadChain, type MaterialReader } from '../tlsa/load.js';
import type { CertFiles, CertSeen, CertSource } from './types.js';
import { certificateDomains, normalizeDomains } from './files.js';
import { chosenCert, fromFlags } from './flags.js';

/** What the state knows, structurally (the state's ServiceFile fits). */
export interface KnownChains {
  chains: Record<string, { id: string; notAfter: string }>;
  rollover: { inService?: { id: string }; pending?: { id: string }; retiring?: { id: string } };
  /** The configured certificate file when it was last checked: unchanged, no parse is needed. */
  certSeen?: CertSeen;
}

export type RenewalCheck =
  /** `seen`: what this check learned of the file, for the state to keep (when it is news). */
  | { kind: 'none'; seen?: CertSeen }
  /** The configured files hold a certificate the state never saw: deploy `files`. */
  | { kind: 'renewed'; files: CertFiles; leafId: string; notAfter: string }
  /** The configured files cannot be read now (mid-renewal, removed): say so, change nothing. */
  | { kind: 'unreadable'; error: string };

/**
 * Compares the configured files' current leaf with what the state knows. `known` is undefined
 * when the service has no state yet (a first deploy that was killed before it saved anything).
 */
export function unreportedRenewal(source: CertSource, known: KnownChains | undefined, read?: MaterialReader): RenewalCheck {
  const ids = known ? knownIds(known) : new Set<string>();
  // The usual answer, for every service of every timer run: the file is the one seen last time.
  if (known?.certSeen && ids.has(known.certSeen.leafId) && sameFile(source, known.certSeen.stamp)) return { kind: 'none' };
  let files: CertFiles | undefined;
  let leaf: Buffer;
  let stamp: string | undefined;
  try {
    files = fromFlags(source, false);
    if (files === undefined) return { kind: 'none' };
    stamp = settledStamp(files.cert); // before the read (see io/file-stamp.ts)
    leaf = loadChain(files.cert, read)[0]!;
  } catch (err) {
    if (err instanceof UserError) return { kind: 'unreadable', error: err.message };
    throw err;
  }
  const leafId = createHash('sha256').update(leaf).digest('hex');
  // Parsed only when needed: a file not seen before that holds a known leaf is a hash away.
  const notAfterOf = () => new Date(new X509Certificate(leaf).validTo).toISOString();
  // A renewal is rare: only then is the leaf read for its names (messages, matching a service).
  const renewed = (notAfter: string): RenewalCheck => ({ kind: 'renewed', files: { ...files, domains: normalizeDomains(certificateDomains(files.cert)) }, leafId, notAfter });
  if (known === undefined) return renewed(notAfterOf());
  if (ids.has(leafId)) return stamp === undefined || stamp === known.certSeen?.stamp ? { kind: 'none' } : { kind: 'none', seen: { stamp, leafId } };
  const notAfter = notAfterOf();
  // An older certificate than every known one is a rollback or a stale copy, not a renewal.
  const newest = Object.values(known.chains).reduce((m, c) => (c.notAfter > m ? c.notAfter : m), '');
  if (notAfter < newest) return { kind: 'none' };
  return renewed(notAfter);
}

const knownIds = (known: KnownChains): Set<string | undefined> => {
  const r = known.rollover;
  return new Set([...Object.keys(known.chains), r.inService?.id, r.pending?.id, r.retiring?.id]);
};

/** True when the configured certificate file is, by stat, the one stamped: the same bytes. */
const sameFile = (src: CertSource, stamp: string): boolean => certFileStamp(src) === stamp;

/**
 * What the renewal check's answer rests on, by stat: '' when the service names no certificate
 * files (the check has nothing to look at), else the stamp of the certificate file it reads;
 * undefined when there is none to take (gone, unreadable, only a key named).
 */
export function certFileStamp(src: CertSource): string | undefined {
  if ((src.lineage ?? src.cert ?? src.fullchain ?? src.key ?? src.chain) === undefined) return '';
  const path = chosenCert(src)?.path;
  try {
    return path === undefined ? undefined : fileStamp(resolve(path));
  } catch {
    return undefined; // gone or unreadable: the full check says what is wrong
  }
}

/**
 * The stamp (certFileStamp) under which the check answers 'none' without reading a file: no files
 * named, or the file is the one the state saw last, holding a leaf it knows. undefined otherwise.
 * As long as certFileStamp gives the same, the check gives the same (engine/idle-memo.ts).
 */
export function quietRenewalStamp(src: CertSource, known: KnownChains): string | undefined {
  const stamp = certFileStamp(src);
  if (stamp === '') return stamp;
  return stamp !== undefined && known.certSeen?.stamp === stamp && knownIds(known).has(known.certSeen.leafId) ? stamp : undefined;
}
