// The settings of a service as the rollover core takes them (run and status decide alike).
import type { ServiceSettings } from '../config/types.js';
import type { TlsaRecord } from '../tlsa/record.js';
import type { DecideOptions } from '../rollover/types.js';

/** How soon to look again while a record is not yet served everywhere: about a TTL, 1 s to 60 s. */
export const pollMs = (ttl: number): number => Math.min(60_000, Math.max(1000, ttl * 1000));

export function decideOptions(settings: ServiceSettings, pins: TlsaRecord[], force?: boolean): DecideOptions {
  return {
    names: settings.tlsaNames,
    params: settings.records,
    ttl: settings.ttl,
    pins,
    staged: settings.activateDir !== undefined,
    reload: settings.reload !== undefined,
    connect: settings.connect !== undefined,
    force,
    pollMs: pollMs(settings.ttl),
  };
}
