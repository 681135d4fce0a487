// Readiness per (usage, selector, matching) combination (RFC 7671 §8: "every TLSA parameter
// combination on its own is sufficient"). A client may support only some usages or digests, so a
// chain may go into service only when, at every name, each combination it can match has a ready
// record matching it: a ready 2 1 1 does not carry a new key while cached 3 1 1 name the old one.
import { paramsText, recordKey, type TlsaParams, type TlsaRecord } from '../tlsa/record.js';
import type { ChainRef, ComboReadiness, RolloverState } from './types.js';

export function isReady(state: RolloverState, name: string, record: TlsaRecord, now: number): boolean {
  const entry = state.seen[name]?.[recordKey(record)];
  return entry !== undefined && now >= entry.readyAt;
}

/** The chain's records grouped by combination ("3 1 1" -> records). */
export function byCombo(records: TlsaRecord[]): Map<string, TlsaRecord[]> {
  const out = new Map<string, TlsaRecord[]>();
  for (const r of records) out.set(paramsText(r), [...(out.get(paramsText(r)) ?? []), r]);
  return out;
}

/**
 * Per name and per combination: whether a ready record of it matches the chain. Combinations of
 * `params` the chain has no record for (selector 0 for a next key without a certificate, 2 x x
 * without an issuer) are listed as not matchable; they do not hold the chain back, since no
 * record could ever match it there.
 */
export function comboReadiness(state: RolloverState, names: string[], chain: ChainRef, now: number, params: TlsaParams[] = []): ComboReadiness[] {
  const groups = byCombo(chain.records);
  const all = [...new Set([...params.map(paramsText), ...groups.keys()])];
  const out: ComboReadiness[] = [];
  for (const name of names) {
    for (const p of all) {
      const records = groups.get(p) ?? [];
      const times = records.map((r) => state.seen[name]?.[recordKey(r)]?.readyAt).filter((t): t is number => t !== undefined);
      const readyAt = times.length > 0 ? Math.min(...times) : undefined;
      out.push({ name, params: p, ready: readyAt !== undefined && now >= readyAt, readyAt, matchable: records.length > 0 });
    }
  }
  return out;
}

/** A chain is ready when, at every name, every combination it can match has a ready record. */
export function chainReady(state: RolloverState, names: string[], chain: ChainRef, now: number): boolean {
  return comboReadiness(state, names, chain, now).every((c) => c.ready);
}

/** When the chain is ready at the soonest, if every one of its combinations is served everywhere. */
export function chainReadyAt(state: RolloverState, names: string[], chain: ChainRef, now: number): number | undefined {
  const combos = comboReadiness(state, names, chain, now);
  if (combos.some((c) => c.readyAt === undefined)) return undefined;
  return Math.max(now, ...combos.map((c) => c.readyAt!));
}

/** One line per chain for people: "3 1 1 ready, 2 1 1 ready at 12:00:05Z, 3 0 1 not matchable". */
export function comboText(combos: ComboReadiness[], names: string[]): string {
  const several = names.length > 1;
  return combos
    .map((c) => `${several ? `${c.name} ` : ''}${c.params} ${!c.matchable ? 'not matchable yet' : c.ready ? 'ready' : c.readyAt !== undefined ? `ready at ${new Date(c.readyAt).toISOString()}` : 'not served everywhere'}`)
    .join(', ');
}
