// dane-hook status: per service and per owner name, what is published (by whom), what waits and
// until when, which chain is in service, and the next step. Reads state; changes nothing.
import type { ServiceSettings } from '../config/types.js';
import { recordKey, recordText } from '../tlsa/record.js';
import { plan as makePlan, isReady } from '../rollover/planner.js';
import { updateSeen } from '../rollover/seen.js';
import type { ChainRef, Presence } from '../rollover/types.js';
import { loadService, type ServiceFile } from '../state/store.js';
import { dnsContext, observe, presenceFromOwned } from './dns-context.js';
import { pinRecords } from './chain.js';
import { pollMs } from './run.js';
import { stepText } from '../cli/report.js';

export interface RecordStatus {
  record: string;
  owner: 'dane-hook' | 'other';
  /** Servers that serve it, of all asked; undefined when not observed. */
  servedBy?: string;
  readySince?: string;
  readyAt?: string;
  ready: boolean;
  neededBy: string[];
}

export interface ServiceStatus {
  service: string;
  mode: 'staged' | 'direct';
  inService?: ChainStatus;
  pending?: ChainStatus;
  next?: ChainStatus;
  names: { name: string; records: RecordStatus[] }[];
  nextSteps: string[];
  nextAt?: string;
  observed: boolean;
  warnings: string[];
  history: { at: string; what: string }[];
}

interface ChainStatus {
  id: string;
  subject?: string;
  issuer?: string;
  notAfter?: string;
  ready: boolean;
}

/** What waits, and until when, for a chain that is not yet matched by a ready record. */
function waiting(chain: ChainRef | undefined, ready: boolean | undefined, what: string, at: number | undefined): string[] {
  if (!chain || ready !== false) return [];
  return [`wait, then ${what} ${chain.id.slice(0, 16)}${at ? ` at ${new Date(at).toISOString()} (dane-hook advance)` : ' once its records are served everywhere'}`];
}

const iso = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());

export async function serviceStatus(stateDir: string, settings: ServiceSettings, opts: { offline?: boolean; now?: number }): Promise<ServiceStatus> {
  const file: ServiceFile | undefined = loadService(stateDir, settings.id);
  const now = opts.now ?? Date.now();
  let state = file?.rollover ?? { owned: [], seen: {}, names: {} };
  const warnings: string[] = [];
  let presence: Record<string, Presence> | undefined;
  let counts: Record<string, Map<string, number>> = {};
  let servers = 0;
  if (opts.offline) {
    // Without DNS, take what dane-hook published as what is served (as the emit backend does).
    presence = presenceFromOwned(settings.tlsaNames, state.owned);
  } else {
    const ctx = await dnsContext(settings, { write: () => true });
    warnings.push(...ctx.warnings);
    const seen = await observe(ctx, settings.tlsaNames, state.owned);
    presence = seen.presence;
    servers = ctx.authServers.length;
    for (const o of seen.observations) {
      const m = new Map<string, number>();
      for (const a of o.answers) for (const r of a.records) m.set(recordKey(r), (m.get(recordKey(r)) ?? 0) + 1);
      counts[o.name] = m;
      for (const a of o.answers) if (a.status === 'error') warnings.push(`${a.server}: ${a.error}`);
    }
    state = updateSeen(state, { now, ttl: settings.ttl, negativeTtl: ctx.negativeTtl, presence });
  }
  const pins = pinRecords(settings);
  const roles: [string, ChainRef | undefined][] = [['in service', state.inService], ['pending', state.pending], ['next key', state.next]];
  const p = makePlan({ now, names: settings.tlsaNames, ttl: settings.ttl, pins, state, presence: presence ?? {}, pollMs: pollMs(settings.ttl) });
  const chain = (c: ChainRef | undefined, ready: boolean | undefined): ChainStatus | undefined => {
    if (!c) return undefined;
    const info = file?.chains[c.id];
    return { id: c.id, subject: info?.subject, issuer: info?.issuer, notAfter: info?.notAfter, ready: ready ?? false };
  };
  const names = settings.tlsaNames.map((name) => {
    const keys = new Map<string, { text: string; rec: (typeof state.owned)[number]['record'] }>();
    for (const o of state.owned.filter((o) => o.name === name)) keys.set(recordKey(o.record), { text: recordText(o.record), rec: o.record });
    for (const [, c] of roles) for (const r of c?.records ?? []) keys.set(recordKey(r), { text: recordText(r), rec: r });
    for (const k of presence?.[name]?.anywhere ?? []) if (!keys.has(k)) keys.set(k, { text: k, rec: undefined as never });
    const records: RecordStatus[] = [...keys].map(([k, v]) => {
      const seen = state.seen[name]?.[k];
      const owned = state.owned.some((o) => o.name === name && recordKey(o.record) === k);
      return {
        record: v.text,
        owner: owned ? 'dane-hook' : 'other',
        servedBy: opts.offline || servers === 0 ? undefined : `${counts[name]?.get(k) ?? 0}/${servers}`,
        readySince: iso(seen?.since),
        readyAt: iso(seen?.readyAt),
        ready: v.rec ? isReady(state, name, v.rec, now) : false,
        neededBy: roles.filter(([, c]) => c?.records.some((r) => recordKey(r) === k)).map(([role]) => role),
      };
    });
    return { name, records };
  });
  return {
    service: settings.id,
    mode: settings.activateDir ? 'staged' : 'direct',
    inService: chain(state.inService, p.readiness.inService),
    pending: chain(state.pending, p.readiness.pending),
    next: chain(state.next, p.readiness.next),
    names,
    nextSteps: p.steps
      .map(stepText)
      .concat(p.held.map((h) => `withdrawal held: ${h}`))
      .concat(waiting(state.pending, p.readiness.pending, 'promote the pending chain', p.nextAt))
      .concat(waiting(state.next, p.readiness.next, "use the next key (its record is not ready: pre-renew exits 5 until then)", p.nextAt)),
    nextAt: iso(p.nextAt),
    observed: !opts.offline,
    warnings,
    history: (file?.history ?? []).slice(-10).map((h) => ({ at: new Date(h.at).toISOString(), what: h.what })),
  };
}
