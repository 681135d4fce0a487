// Certificate files named on the command line: --lineage DIR, or --cert/--chain/--fullchain/--key.
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { checkFile, certificateDomains, normalizeDomains } from './files.js';
import { dropUndefined, lineageFiles } from './lineage.js';
import type { CertFiles, CertSource } from './types.js';

/**
 * Which file holds the certificate, and the flag it came from: --cert, else the lineage's cert.pem,
 * else the full chain (it starts with the end-entity certificate). Unchecked: fromFlags checks
 * it; the renewal check stats it to skip the parse when it has not changed.
 */
export function chosenCert(src: CertSource): { flag: '--cert' | '--lineage' | '--fullchain'; path: string } | undefined {
  if (src.cert !== undefined) return { flag: '--cert', path: src.cert };
  if (src.lineage !== undefined) return { flag: '--lineage', path: join(src.lineage, 'cert.pem') };
  if (src.fullchain !== undefined) return { flag: '--fullchain', path: src.fullchain };
  return undefined;
}

/**
 * Files from flags (or a service's configured source); undefined when none are given. Without
 * `withDomains` the certificate is not parsed for its names (domains: []): the renewal check of
 * every service in every timer run only needs the paths.
 */
export function fromFlags(src: CertSource, withDomains = true): CertFiles | undefined {
  const any = src.lineage ?? src.cert ?? src.fullchain ?? src.key ?? src.chain;
  if (any === undefined) return undefined;
  const base = src.lineage !== undefined ? lineageFiles('flags', '--lineage', src.lineage, [], true, false) : undefined;
  const named = (flag: string, v: string | undefined) => (v === undefined ? undefined : checkFile(flag, v));
  const fullchain = named('--fullchain', src.fullchain) ?? base?.fullchain;
  // The lineage's cert.pem and the full chain were checked above; --cert is checked here.
  const from = chosenCert(src)?.flag;
  const cert = from === '--cert' ? named('--cert', src.cert) : from === '--lineage' ? base?.cert : fullchain;
  const key = named('--key', src.key) ?? base?.key;
  if (cert === undefined) throw new UserError('--key was given without --cert or --fullchain: name the certificate too');
  if (key === undefined) throw new UserError(`${src.cert !== undefined ? '--cert' : '--fullchain'} was given without --key: name the private key too`);
  // Files named one by one override those of the lineage; a roll key belongs to the lineage's key only.
  const nextKey = src.key === undefined ? base?.nextKey : undefined;
  return dropUndefined({
    client: 'flags',
    cert,
    chain: named('--chain', src.chain) ?? base?.chain,
    fullchain,
    key,
    nextKey,
    domains: withDomains ? normalizeDomains(certificateDomains(cert)) : [],
    lineage: base?.lineage,
  });
}
