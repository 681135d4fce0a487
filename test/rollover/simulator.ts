// A model world for the planner's property test: a primary and a lagging secondary, resolver
// caches that may hold any RRset version served within its TTL, and a service that presents the
// chain in service. The engine loop here runs the same pure functions the real engine runs.
import { createHash } from 'node:crypto';
import { recordKey, type TlsaRecord } from '../../src/tlsa/record.js';
import { plan } from '../../src/rollover/planner.js';
import { updateSeen } from '../../src/rollover/seen.js';
import { announceNextKey, deploy, emptyState } from '../../src/rollover/events.js';
import type { ChainRef, Presence, RolloverState } from '../../src/rollover/types.js';

export const NAME = '_25._tcp.mx.example.test.';
const hex = (s: string) => createHash('sha256').update(s).digest('hex');
export const eeRecord = (key: number): TlsaRecord => ({ usage: 3, selector: 1, matching: 1, data: hex(`key${key}`) });
export const taRecord = (issuer: number): TlsaRecord => ({ usage: 2, selector: 1, matching: 1, data: hex(`issuer${issuer}`) });
export const chainOf = (key: number, issuer: number): ChainRef => ({ id: `k${key}i${issuer}`, records: [eeRecord(key), taRecord(issuer)] });

interface Version { at: number; keys: Set<string> }

export type Event =
  | { kind: 'renew'; newKey: boolean; newIssuer: boolean; useNext: boolean }
  | { kind: 'preRenew' }
  | { kind: 'advance' }
  | { kind: 'tick'; seconds: number }
  | { kind: 'sync' }
  | { kind: 'failNext'; ops: number };

export class World {
  now = 1_000_000;
  ttl: number;
  negTtl: number;
  state: RolloverState = emptyState();
  primary: Version[] = [{ at: 0, keys: new Set() }];
  secondary: Version[] = [{ at: 0, keys: new Set() }];
  presented: ChainRef | undefined;
  key = 1;
  issuer = 1;
  nextKey: number | undefined;
  failOps = 0;
  violations: string[] = [];
  log: string[] = [];

  constructor(ttl: number, negTtl: number) {
    this.ttl = ttl;
    this.negTtl = negTtl;
  }

  private current(vs: Version[]): Set<string> {
    return vs[vs.length - 1]!.keys;
  }

  private setPrimary(keys: Set<string>): void {
    this.primary.push({ at: this.now, keys });
  }

  run(e: Event): void {
    this.log.push(JSON.stringify(e));
    switch (e.kind) {
      case 'tick':
        this.now += e.seconds * 1000;
        break;
      case 'sync':
        this.secondary.push({ at: this.now, keys: new Set(this.current(this.primary)) });
        break;
      case 'failNext':
        this.failOps = e.ops;
        break;
      case 'preRenew':
        if (this.nextKey === undefined) this.nextKey = ++this.key + 1000;
        this.state = announceNextKey(this.state, { id: `next${this.nextKey}`, records: [eeRecord(this.nextKey)] });
        this.advance();
        break;
      case 'renew': {
        let key = this.currentKey();
        if (e.useNext && this.nextKey !== undefined) {
          key = this.nextKey;
          this.nextKey = undefined;
        } else if (e.newKey) key = ++this.key;
        const issuer = e.newIssuer ? ++this.issuer : this.issuer;
        const r = deploy(this.state, chainOf(key, issuer), { staged: true, names: [NAME], now: this.now });
        this.state = r.state;
        this.advance();
        break;
      }
      case 'advance':
        this.advance();
        break;
    }
    this.check();
  }

  private currentKey(): number {
    const c = this.state.pending ?? this.state.inService;
    return c ? Number(/^k(\d+)/.exec(c.id)![1]) : this.key;
  }

  private presence(): Presence {
    const p = this.current(this.primary);
    const s = this.current(this.secondary);
    return { anywhere: new Set([...p, ...s]), everywhere: new Set([...p].filter((k) => s.has(k))), ttl: p.size + s.size > 0 ? this.ttl : undefined };
  }

  /** One engine run: observe, fold, plan, execute in order; a failed DNS operation aborts the run. */
  private advance(): void {
    const presence = { [NAME]: this.presence() };
    this.state = updateSeen(this.state, { now: this.now, ttl: this.ttl, negativeTtl: this.negTtl, presence });
    const p = plan({ now: this.now, names: [NAME], ttl: this.ttl, pins: [], state: this.state, presence });
    for (const step of p.steps) {
      if (step.kind === 'promote') {
        this.presented = this.state.pending;
        this.state = { ...this.state, inService: this.state.pending, pending: undefined };
        continue;
      }
      if (step.kind === 'publish') {
        // Ownership is recorded before the update is sent, as the engine does.
        this.state = { ...this.state, owned: [...this.state.owned, { name: step.name, record: step.record, ttl: step.ttl, addedAt: this.now }] };
      }
      if (this.failOps > 0) {
        this.failOps--;
        return;
      }
      const keys = new Set(this.current(this.primary));
      if (step.kind === 'publish') keys.add(recordKey(step.record));
      else {
        keys.delete(recordKey(step.record));
        this.state = { ...this.state, owned: this.state.owned.filter((o) => recordKey(o.record) !== recordKey(step.record)) };
      }
      this.setPrimary(keys);
    }
  }

  /** Every RRset version some server served within the last TTL may sit in a cache now. */
  private cacheable(): Set<string>[] {
    const out: Set<string>[] = [];
    for (const vs of [this.primary, this.secondary]) {
      vs.forEach((v, i) => {
        const until = i + 1 < vs.length ? vs[i + 1]!.at : Infinity;
        if (until >= this.now - this.ttl * 1000) out.push(v.keys);
      });
    }
    return out;
  }

  private check(): void {
    const chain = this.presented;
    if (!chain) return;
    const keys = chain.records.map(recordKey);
    for (const v of this.cacheable()) {
      // An empty RRset (or a negative answer) means no DANE for that resolver: not a failure.
      if (v.size > 0 && !keys.some((k) => v.has(k))) {
        this.violations.push(`t=${this.now}: chain ${chain.id} presented, cached RRset {${[...v].map((k) => k.slice(0, 12)).join(', ')}} matches none of it`);
        return;
      }
    }
  }
}
