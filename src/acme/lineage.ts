// A directory in certbot's live layout (also dehydrated's certs/DOMAIN): cert.pem, chain.pem,
// fullchain.pem, privkey.pem, usually symlinks to the current version.
import { join } from 'node:path';
import { checkDir, checkFile, certificateDomains, holdsKey, normalizeDomains } from './files.js';
import type { CertFiles, Client } from './types.js';

/** dehydrated keeps its next key here when PRIVATE_KEY_ROLLOVER=yes; certbot never writes it. */
export const ROLL_KEY = 'privkey.roll.pem';

/**
 * Reads a lineage directory. `what` names where the directory came from (RENEWED_LINEAGE, --lineage)
 * so a missing file is reported against it. `rollKey`: look for dehydrated's privkey.roll.pem.
 */
export function lineageFiles(client: Client, what: string, rawDir: string, domains: string[], rollKey: boolean, certDomains = true): CertFiles {
  const dir = checkDir(what, rawDir);
  const optional = (name: string): string | undefined => {
    try {
      return checkFile(what, join(dir, name));
    } catch (err) {
      if (((err as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
      throw err;
    }
  };
  const cert = checkFile(what, join(dir, 'cert.pem'));
  const files: CertFiles = {
    client,
    cert,
    chain: optional('chain.pem'),
    fullchain: optional('fullchain.pem'),
    key: checkFile(what, join(dir, 'privkey.pem')),
    domains: normalizeDomains(certDomains ? [...domains, ...certificateDomains(cert)] : domains),
    lineage: dir,
  };
  if (rollKey) {
    const roll = optional(ROLL_KEY);
    if (roll !== undefined && holdsKey(roll)) files.nextKey = roll;
  }
  return dropUndefined(files);
}

/** Leaves out the optional fields that were not found, so results compare and print cleanly. */
export function dropUndefined(o: CertFiles): CertFiles {
  for (const k of Object.keys(o) as (keyof CertFiles)[]) if (o[k] === undefined) delete o[k];
  return o;
}
