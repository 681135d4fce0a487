// The safety net for a renewal no hook reported: certbot never reruns a deploy hook and ignores
// its failure, so a hook killed before its first state save forgets the renewal for good. The
// periodic run (`advance`) asks this for every service whose files are configured (lineage, or
// cert/key): a leaf on disk that the state does not know, and not older than what it knows, is
// treated as a deploy of those files.
import { X509Certificate, createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import { loadChain } from '../tlsa/load.js';
import type { CertFiles, CertSource } from './types.js';
import { fromFlags } from './flags.js';

/** What the state knows, structurally (the state's ServiceFile fits). */
export interface KnownChains {
  chains: Record<string, { id: string; notAfter: string }>;
  rollover: { inService?: { id: string }; pending?: { id: string }; retiring?: { id: string } };
}

export type RenewalCheck =
  | { kind: 'none' }
  /** The configured files hold a certificate the state never saw: deploy `files`. */
  | { kind: 'renewed'; files: CertFiles; leafId: string; notAfter: string }
  /** The configured files cannot be read now (mid-renewal, removed): say so, change nothing. */
  | { kind: 'unreadable'; error: string };

/**
 * Compares the configured files' current leaf with what the state knows. `known` is undefined
 * when the service has no state yet (a first deploy that was killed before it saved anything).
 */
export function unreportedRenewal(source: CertSource, known: KnownChains | undefined): RenewalCheck {
  let files: CertFiles | undefined;
  let leaf: Buffer;
  try {
    files = fromFlags(source);
    if (files === undefined) return { kind: 'none' };
    leaf = loadChain(files.cert)[0]!;
  } catch (err) {
    if (err instanceof UserError) return { kind: 'unreadable', error: err.message };
    throw err;
  }
  const leafId = createHash('sha256').update(leaf).digest('hex');
  // Parsed only when needed: the usual answer (a known leaf) is a hash away, for every service of every timer run.
  const notAfterOf = () => new Date(new X509Certificate(leaf).validTo).toISOString();
  if (known === undefined) return { kind: 'renewed', files, leafId, notAfter: notAfterOf() };
  const r = known.rollover;
  const ids = new Set([...Object.keys(known.chains), r.inService?.id, r.pending?.id, r.retiring?.id]);
  if (ids.has(leafId)) return { kind: 'none' };
  const notAfter = notAfterOf();
  // An older certificate than every known one is a rollback or a stale copy, not a renewal.
  const newest = Object.values(known.chains).reduce((m, c) => (c.notAfter > m ? c.notAfter : m), '');
  if (notAfter < newest) return { kind: 'none' };
  return { kind: 'renewed', files, leafId, notAfter };
}
