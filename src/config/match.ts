// Which configured service a deploy is about: by where its files are, else by the names it is for.
import { resolve } from 'node:path';
import type { CertFiles } from '../acme/types.js';
import { parseOwner } from '../tlsa/name.js';
import type { GlobalSettings, ServiceSettings } from './types.js';

/**
 * Services a certificate serves. A service whose configured lineage (or cert/fullchain/key file) is
 * where the files came from wins; otherwise every service with a TLSA host among the certificate's
 * names (a wildcard covers one label). Several services may share one certificate.
 */
export function findServices(settings: Pick<GlobalSettings, 'services'>, files: CertFiles): ServiceSettings[] {
  const byPlace = settings.services.filter((s) => samePlace(s, files));
  if (byPlace.length > 0) return byPlace;
  const names = files.domains.map((d) => d.toLowerCase().replace(/\.$/, ''));
  return settings.services.filter((s) => s.tlsaNames.some((n) => names.some((d) => covers(d, parseOwner(n)?.host ?? ''))));
}

function samePlace(s: ServiceSettings, f: CertFiles): boolean {
  const src = s.source;
  if (src.lineage !== undefined && f.lineage !== undefined && resolve(src.lineage) === resolve(f.lineage)) return true;
  // Flags and env paths are real paths (symlinks resolved); a configured path may be a live symlink.
  const given = [f.cert, f.fullchain, f.key].filter(Boolean).map((p) => resolve(p!));
  return [src.cert, src.fullchain, src.key].some((p) => p !== undefined && given.includes(resolve(p)));
}

function covers(certName: string, host: string): boolean {
  const h = host.replace(/\.$/, '');
  if (certName === h) return true;
  return certName.startsWith('*.') && h.endsWith(certName.slice(1)) && !h.slice(0, -(certName.length - 1)).includes('.');
}
