// Chains and records for the rollover core's tests: keys and issuers by number, with the
// combinations 3 1 1, 3 1 2, 2 1 1 (and 3 0 1 for a chain with a certificate).
import { createHash } from 'node:crypto';
import type { Matching, Selector, TlsaParams, TlsaRecord, Usage } from '../../src/tlsa/record.js';
import type { ChainRef, DecideOptions } from '../../src/rollover/types.js';

export const NAME = '_25._tcp.mx.example.test.';
const hash = (s: string, m: Matching) => createHash(m === 2 ? 'sha512' : 'sha256').update(s).digest('hex');
const rec = (usage: Usage, selector: Selector, matching: Matching, what: string): TlsaRecord => ({ usage, selector, matching, data: hash(what, matching) });
export const eeRecord = (key: number, matching: Matching = 1): TlsaRecord => rec(3, 1, matching, `key${key}`);
export const taRecord = (issuer: number): TlsaRecord => rec(2, 1, 1, `issuer${issuer}`);
export const certRecord = (key: number, issuer: number, serial: number): TlsaRecord => rec(3, 0, 1, `cert${key}/${issuer}/${serial}`);
export const P = (t: string): TlsaParams => {
  const [usage, selector, matching] = t.split(' ').map(Number) as [Usage, Selector, Matching];
  return { usage, selector, matching };
};

/** The records a chain (key, issuer, serial) has for the given combinations. */
export function chainOf(key: number, issuer: number, params: TlsaParams[] = [P('3 1 1'), P('2 1 1')], serial = 0): ChainRef {
  const records = params.map((p) =>
    p.usage === 2 ? taRecord(issuer) : p.selector === 0 ? certRecord(key, issuer, serial) : eeRecord(key, p.matching),
  );
  return { id: `k${key}i${issuer}s${serial}`, records };
}

/** A next key: only its selector-1 end-entity records exist before a certificate does. */
export function nextKeyOf(key: number, params: TlsaParams[]): ChainRef {
  return { id: `key-${key}`, records: params.filter((p) => p.usage === 3 && p.selector === 1).map((p) => eeRecord(key, p.matching)) };
}

export const options = (over: Partial<DecideOptions> = {}): DecideOptions => ({
  names: [NAME],
  params: [P('3 1 1'), P('2 1 1')],
  ttl: 60,
  pins: [],
  staged: true,
  reload: true,
  connect: false,
  pollMs: 60_000,
  ...over,
});
