// A service with several certificate sources (`lineages`: an RSA and an ECDSA certificate on the
// same names) is run as one, but each lineage has its own rollover: a view of the service per
// lineage carries that lineage's source, activate dir and state slot, and everything else shared.
import type { LineageKeyType, ServiceSettings } from './types.js';

/** The view of each lineage, or the service itself when it has one source. */
export function lineageViews(s: ServiceSettings): ServiceSettings[] {
  if (!s.lineages) return [s];
  return s.lineages.map((l) => {
    const { lineages: _all, activateDir: _parent, ...shared } = s;
    return { ...shared, source: l.source, lineage: l.keyType, ...(l.activateDir === undefined ? {} : { activateDir: l.activateDir }) };
  });
}

/** How a service or a lineage view is named to people: mx, or mx/rsa. */
export const shownId = (s: Pick<ServiceSettings, 'id' | 'lineage'>): string => (s.lineage ? `${s.id}/${s.lineage}` : s.id);

/** node:crypto's asymmetricKeyType (and keyTypeOfSpki's rsa, ec-p256...) for a lineage key type. */
export function matchesKeyType(keyType: LineageKeyType, actual: string): boolean {
  return keyType === 'rsa' ? actual === 'rsa' || actual === 'rsa-pss' : actual === 'ec' || actual.startsWith('ec-');
}
