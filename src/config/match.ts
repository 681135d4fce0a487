// Which configured service a deploy is about: by where its files are, else by the names it is for.
import { resolve } from 'node:path';
import type { CertFiles } from '../acme/types.js';
import { parseOwner } from '../tlsa/name.js';
import { lineageViews } from './lineages.js';
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

/** The lineage view of `s` whose files these are (the service itself when it has one source). */
export function viewOf(views: ServiceSettings[], files: CertFiles): ServiceSettings | undefined {
  return views.find((v) => samePlace(v, files));
}

function samePlace(s: ServiceSettings, f: CertFiles): boolean {
  if (s.lineages) return lineageViews(s).some((v) => samePlace(v, f));
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
