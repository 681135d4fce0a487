// Everything the engine needs to know about DNS for one service: the zone of each TLSA name, the
// servers to ask, the backend that applies changes, and what those servers serve now.
import { UserError } from '../errors.js';
import type { ServiceSettings } from '../config/types.js';
import type { Backend, NameObservation, RecordChange, ServerAddress, ZoneInfo } from '../dns/types.js';
import { ZoneCache } from '../dns/zone-cache.js';
import { abs, enclosingSoa, inZone } from '../dns/zone.js';
import type { QueryPool } from '../dns/pool.js';
import type { Ask } from '../dns/query.js';
import { observeTlsa } from '../dns/observer.js';
import { lazyBackend } from '../dns/backends.js';
import { neededSetting } from '../config/flags.js';
import { formatServer } from '../dns/address.js';
import { recordKey } from '../tlsa/record.js';
import type { OwnedRecord, Presence } from '../rollover/types.js';
import type { EmitSink } from './types.js';

export interface DnsContext {
  /** name -> zone it is in */
  zoneOf: Record<string, string>;
  negativeTtl: number;
  /** undefined: not known (no server to ask) */
  signed?: boolean;
  /** zone -> its authoritative servers (each name is asked only of its own zone's servers) */
  serversOf: Record<string, ServerAddress[]>;
  authServers: ServerAddress[];
  /** False when no server can be asked: emitted changes are taken as applied (unverified). */
  verified: boolean;
  backend: Backend;
  warnings: string[];
  /** How TLSA questions are asked: the run's pool when there is one. */
  ask?: Ask;
  /** The server zones were discovered at (--server, else the first --auth-server). */
  asked?: ServerAddress;
}

/** What a run over many services shares: zone facts found once, one bounded query pool. */
export interface RunDns {
  zones?: ZoneCache;
  pool?: QueryPool;
}

export const UNVERIFIED = 'no --server or --auth-server: publication cannot be checked';

/** The context's warnings a run reports whatever it does (unverifiable emit is said only when something is emitted). */
export const standingWarnings = (ctx: DnsContext): string[] => ctx.warnings.filter((w) => ctx.verified || !w.startsWith(UNVERIFIED));


/** `names`: every name to observe, the configured ones and any where owned records remain. */
export async function dnsContext(settings: ServiceSettings, emit?: EmitSink, names: string[] = settings.tlsaNames, run: RunDns = {}): Promise<DnsContext> {
  const d = settings.dns;
  const warnings: string[] = [];
  // Emitted changes go to the CLI's sink, which renders them; without one they are dropped (check
  // and status only observe). Backends load when used: nothing that only observes loads one.
  const emitted = async (changes: RecordChange[], zone: string) => emit?.(changes, { zone, format: d.emitFormat, server: d.server });
  const backend: Backend = lazyBackend(d, emitted, (row, need) => new UserError(`the ${row.name} backend needs ${neededSetting(need.key)}: ${need.why}`));
  const asked = d.server ?? d.authServers[0];
  if (!asked) {
    // Only the emit backend can work blind: anything that changes DNS must be checked.
    if (d.backend !== 'emit') throw new UserError(`the ${d.backend} backend needs a server to check publication at: give --auth-server (or --server)`);
    const zone = d.zone ?? '';
    warnings.push(`${UNVERIFIED}; emitted changes are taken as applied when printed`);
    return { zoneOf: Object.fromEntries(names.map((n) => [n, zone])), negativeTtl: settings.ttl, serversOf: {}, authServers: [], verified: false, backend, warnings };
  }
  const ask = run.pool?.query;
  const cache = run.zones ?? new ZoneCache(ask);
  const infos = new Map<string, ZoneInfo>();
  const zoneOf: Record<string, string> = {};
  for (const name of names) {
    const info = await cache.zoneOf(name, asked, d.zone);
    if (!inZone(name, info.zone)) throw new UserError(`TLSA name ${name} is not in zone ${info.zone}`);
    infos.set(info.zone, info);
    zoneOf[name] = info.zone;
  }
  const zones = [...infos.values()];
  const serversOf: Record<string, ServerAddress[]> = {};
  for (const z of zones) {
    // Given servers are asked for every zone; otherwise each zone's own NS set.
    let servers = d.authServers;
    if (servers.length === 0) {
      try {
        servers = dedupe(await cache.nameServers(z, asked, asked.port));
      } catch (err) {
        warnings.push(`${(err as Error).message}`);
        servers = [];
      }
      if (servers.length === 0) {
        servers = [asked];
        warnings.push(`the NS names of ${z.zone} did not resolve; checking ${formatServer(asked)} only`);
      }
    }
    serversOf[z.zone] = servers;
  }
  const authServers = dedupe(Object.values(serversOf).flat());
  const signed = zones.every((z) => z.signed);
  if (!signed) {
    warnings.push(`zone ${zones.filter((z) => !z.signed).map((z) => z.zone).join(', ')} is not DNSSEC-signed: TLSA records have no effect there until it is`);
  }
  return { zoneOf, negativeTtl: Math.max(...zones.map((z) => z.negativeTtl)), signed, serversOf, authServers, verified: true, backend, warnings, ask, asked };
}

/**
 * Before anything is published at a name: the zone the server really holds it in is the one the
 * update goes to. A zone cut below --zone (or below a zone found for another name) would take the
 * update into the parent, where the record is hidden under the delegation and never served.
 * The zone is read off the server's answer to the run's TLSA question when that answer shows it
 * (observations: its SOA, signer or NS set); otherwise one SOA question per name, asked only when
 * a publish is planned.
 */
export async function confirmZones(ctx: DnsContext, names: string[], zoneGiven: boolean, observations: NameObservation[] = []): Promise<void> {
  if (!ctx.verified || !ctx.asked) return;
  const asked = formatServer(ctx.asked);
  await Promise.all(
    [...new Set(names)].map(async (name) => {
      const shown = observations.find((o) => o.name === name)?.answers.find((a) => a.server === asked && a.status !== 'error' && a.cname === undefined)?.zone;
      const zone = shown ?? abs((await enclosingSoa(name, ctx.asked!, { ask: ctx.ask })).name);
      const expected = ctx.zoneOf[name] ?? '';
      if (zone !== abs(expected)) {
        const advice = zoneGiven ? `give --zone ${zone.replace(/\.$/, '')} or leave --zone out` : `configure the names of ${zone} as a service of their own`;
        throw new UserError(`TLSA name ${name} is in zone ${zone}, not ${abs(expected)} (a zone cut below it): an update to ${abs(expected)} would never be served; ${advice}`);
      }
    }),
  );
}

function dedupe(servers: ServerAddress[]): ServerAddress[] {
  const seen = new Map(servers.map((s) => [formatServer(s), s]));
  return [...seen.values()];
}

/** Asks every authoritative server about every name; reduces the answers to record keys. */
export async function observe(ctx: DnsContext, names: string[], owned: OwnedRecord[]): Promise<{ presence: Record<string, Presence>; observations: NameObservation[] }> {
  // Nothing to ask: what was emitted counts as published everywhere.
  if (!ctx.verified) return { presence: presenceFromOwned(names, owned), observations: [] };
  const observations = await Promise.all(names.map((n) => observeTlsa(n, ctx.serversOf[ctx.zoneOf[n] ?? ''] ?? ctx.authServers, { ask: ctx.ask })));
  const presence: Record<string, Presence> = {};
  for (const obs of observations) presence[obs.name] = presenceOf(obs, ctx.signed === true);
  return { presence, observations };
}

export function presenceOf(obs: NameObservation, requireSigned: boolean): Presence {
  const anywhere = new Set<string>();
  const counts = new Map<string, number>();
  let ttl: number | undefined;
  for (const a of obs.answers) {
    for (const r of a.records) anywhere.add(recordKey(r));
    if (a.status !== 'ok' || (requireSigned && !a.signed)) continue;
    if (a.ttl !== undefined) ttl = Math.max(ttl ?? 0, a.ttl);
    for (const k of new Set(a.records.map(recordKey))) counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const everywhere = new Set([...counts].filter(([, n]) => n === obs.answers.length).map(([k]) => k));
  const complete = obs.answers.length > 0 && obs.answers.every((a) => a.status !== 'error');
  return { anywhere, everywhere, ttl, complete };
}

/** Presence when DNS is not asked: every record dane-hook published counts as served everywhere. */
export function presenceFromOwned(names: string[], owned: OwnedRecord[]): Record<string, Presence> {
  const presence: Record<string, Presence> = {};
  for (const name of names) {
    const keys = new Set(owned.filter((o) => o.name === name).map((o) => recordKey(o.record)));
    presence[name] = { anywhere: keys, everywhere: new Set(keys), complete: true };
  }
  return presence;
}
