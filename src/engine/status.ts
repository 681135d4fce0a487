// dane-hook status: per service and per owner name, what is published (by whom), what waits and
// until when, which chain is in service, readiness per combination, and the next steps: the same
// decision `advance` would take (rollover/decide.ts), so it never shows a step advance would refuse.
import type { ServiceSettings } from '../config/types.js';
import { recordKey, recordText, type TlsaRecord } from '../tlsa/record.js';
import { decide, emptyState, inPlay } from '../rollover/decide.js';
import { shownId } from '../config/lineages.js';
import { stepText } from '../rollover/describe.js';
import { comboText, isReady } from '../rollover/readiness.js';
import type { ChainReadiness, ChainRef, Presence } from '../rollover/types.js';
import { loadService, rolloverOf, type ServiceFile } from '../state/store.js';
import { dnsContext, observe, presenceFromOwned } from './dns-context.js';
import { pinRecords } from '../tlsa/pins.js';
import { decideOptions } from './options.js';

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
  /** Older renewed chains still waiting (oldest first): the newest ready one is promoted. */
  waiting?: ChainStatus[];
  next?: ChainStatus;
  names: { name: string; records: RecordStatus[] }[];
  nextSteps: string[];
  nextAt?: string;
  observed: boolean;
  warnings: string[];
  history: { at: string; what: string }[];
}

export interface ChainStatus {
  id: string;
  subject?: string;
  issuer?: string;
  notAfter?: string;
  ready: boolean;
  /** "3 1 1 ready, 2 1 1 ready at ..." */
  readiness: string;
  combos: ChainReadiness['combos'];
}

/** What waits, and until when, for a chain that is not yet matched by ready records. */
function waiting(r: ChainReadiness | undefined, what: string): string[] {
  if (!r || r.ready) return [];
  // The chain's own time: its last combination to become ready (not the service's next wake-up,
  // which may belong to another chain).
  const times = r.combos.filter((c) => c.matchable).map((c) => c.readyAt);
  const at = times.length > 0 && times.every((t) => t !== undefined) ? Math.max(...(times as number[])) : undefined;
  return [`wait, then ${what} ${r.id.slice(0, 16)}${at ? ` at ${new Date(at).toISOString()} (dane-hook advance)` : ' once its records are served everywhere'}`];
}

const iso = (ms?: number) => (ms === undefined ? undefined : new Date(ms).toISOString());

export async function serviceStatus(stateDir: string, settings: ServiceSettings, opts: { offline?: boolean; now?: number }): Promise<ServiceStatus> {
  const file: ServiceFile | undefined = loadService(stateDir, settings.id);
  const now = opts.now ?? Date.now();
  const before = rolloverOf(file, settings) ?? emptyState();
  const warnings: string[] = [];
  let presence: Record<string, Presence>;
  const counts: Record<string, Map<string, number>> = {};
  let servers = 0;
  let negativeTtl = settings.ttl;
  if (opts.offline) {
    // Without DNS, take what dane-hook published as what is served (as the emit backend does).
    presence = presenceFromOwned(settings.tlsaNames, before.owned);
  } else {
    const ctx = await dnsContext(settings);
    warnings.push(...ctx.warnings);
    negativeTtl = ctx.negativeTtl;
    const seen = await observe(ctx, settings.tlsaNames, before.owned);
    presence = seen.presence;
    servers = ctx.authServers.length;
    for (const o of seen.observations) {
      const m = new Map<string, number>();
      for (const a of o.answers) for (const r of a.records) m.set(recordKey(r), (m.get(recordKey(r)) ?? 0) + 1);
      counts[o.name] = m;
      for (const a of o.answers) if (a.status === 'error') warnings.push(`${a.server}: ${a.error}`);
    }
  }
  // A lineage keeps what its sibling lineages need (as advance decides them: rollover/lineages.ts).
  const keep = Object.entries(file?.lineages ?? {}).filter(([l]) => l !== settings.lineage).flatMap(([, r]) => inPlay(r).flatMap((c) => c.records));
  const d = decide(before, { kind: 'advance' }, { presence, negativeTtl }, now, { ...decideOptions(settings, pinRecords(settings.extraCaFiles, settings.records)), ...(settings.lineage ? { keep } : {}) });
  warnings.push(...d.warnings);
  const state = opts.offline ? { ...d.state, seen: before.seen } : d.state;
  const readinessOf = (role: ChainReadiness['role'], id?: string) => d.readiness.find((r) => r.role === role && (id === undefined || r.id === id));
  const chain = (c: ChainRef | undefined, r: ChainReadiness | undefined): ChainStatus | undefined => {
    if (!c) return undefined;
    const info = file?.chains[c.id];
    const combos = r?.combos ?? [];
    return { id: c.id, subject: info?.subject, issuer: info?.issuer, notAfter: info?.notAfter, ready: r?.ready ?? false, readiness: comboText(combos, settings.tlsaNames), combos };
  };
  const roles: [string, ChainRef | undefined][] = [['in service', state.inService], ['pending', state.pending], ...(state.waiting ?? []).map((c): [string, ChainRef] => ['waiting', c]), ['next key', state.next], ['retiring', state.retiring]];
  const names = settings.tlsaNames.map((name) => {
    const keys = new Map<string, { text: string; rec?: TlsaRecord }>();
    for (const o of state.owned.filter((o) => o.name === name)) keys.set(recordKey(o.record), { text: recordText(o.record), rec: o.record });
    for (const [, c] of roles) for (const r of c?.records ?? []) keys.set(recordKey(r), { text: recordText(r), rec: r });
    for (const k of presence[name]?.anywhere ?? []) if (!keys.has(k)) keys.set(k, { text: k });
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
        neededBy: [...new Set(roles.filter(([, c]) => c?.records.some((r) => recordKey(r) === k)).map(([role]) => role))],
      };
    });
    return { name, records };
  });
  // --connect: withdrawals wait for the live check; say so, and why the last run held them.
  const verified = d.plan.some((s) => s.kind === 'verify');
  const last = file?.history.at(-1)?.what;
  const lastHeld = verified && last?.startsWith('withdrawal held: ') ? last.slice('withdrawal held: '.length) : undefined;
  return {
    service: shownId(settings),
    mode: settings.activateDir ? 'staged' : 'direct',
    inService: chain(state.inService, readinessOf('in service')),
    pending: chain(state.pending, readinessOf('pending')),
    ...((state.waiting ?? []).length > 0 ? { waiting: state.waiting!.map((c) => chain(c, readinessOf('waiting', c.id))!) } : {}),
    next: chain(state.next, readinessOf('next key')),
    names,
    nextSteps: d.plan
      .map((s) => stepText(s) + (s.kind === 'withdraw' && verified ? ' (only once the verify above succeeds)' : ''))
      .concat(d.held.map((h) => `held: ${h}`))
      .concat(lastHeld ? [`held: the last run kept these withdrawals back: ${lastHeld}`] : [])
      .concat(d.plan.some((s) => s.kind === 'promote') ? [] : waiting(readinessOf('pending'), 'promote the pending chain'))
      .concat(waiting(readinessOf('next key'), 'use the next key (its records are not ready: pre-renew exits 5 until then)')),
    nextAt: iso(d.nextAt),
    observed: !opts.offline,
    warnings,
    history: (file?.history ?? []).slice(-10).map((h) => ({ at: new Date(h.at).toISOString(), what: h.what })),
  };
}
