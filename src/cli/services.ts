// The services a periodic or monitoring command acts on: those of the config or flags, plus every
// service a deploy registered in the state dir. Its own module so that check and status load no
// more than this (not the run engine that advance needs).
import { existsSync } from 'node:fs';
import { UserError } from '../errors.js';
import { impliedBackend } from '../dns/backends.js';
import { loadService, serviceFolders } from '../state/store.js';
import type { GlobalSettings, ServiceSettings } from '../config/types.js';

/**
 * Services from the config or flags, plus every service registered in the state dir by deploy.
 * With `onError`, a registered service whose state cannot be read is handed to it and left out;
 * without, the error is thrown.
 */
export function allServices(global: GlobalSettings, onError?: (id: string, err: unknown) => void): ServiceSettings[] {
  const byId = new Map(global.services.map((s) => [s.id, s]));
  if (byId.size === 0 && !existsSync(global.stateDir)) {
    throw new UserError(`state dir ${global.stateDir} does not exist and no config names a service: check --state-dir (deploy creates it)`);
  }
  for (const id of serviceFolders(global.stateDir)) {
    if (byId.has(id)) continue;
    try {
      const file = loadService(global.stateDir, id);
      if (file) byId.set(id, withDnsFlags(file.settings, global.dnsFlags));
    } catch (err) {
      if (!onError) throw err;
      onError(id, err);
    }
  }
  return [...byId.values()];
}

/** DNS flags given now win over the settings a service was registered with (as they do over a config). */
function withDnsFlags(s: ServiceSettings, flags: GlobalSettings['dnsFlags']): ServiceSettings {
  if (!flags || Object.keys(flags).length === 0) return s;
  const dns = { ...s.dns, ...flags };
  // As for a config: the backend the given settings imply, unless --dns names one.
  if (!flags.backend) dns.backend = impliedBackend(flags) ?? s.dns.backend;
  return { ...s, dns };
}
