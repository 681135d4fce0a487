// The TLSA record model (RFC 6698 2.1, mnemonics RFC 7218): plain objects, parse and format.
import { UserError } from '../errors.js';

export type Usage = 0 | 1 | 2 | 3;
export type Selector = 0 | 1;
export type Matching = 0 | 1 | 2;

/** The three parameters of a record, e.g. 3 1 1. */
export interface TlsaParams {
  usage: Usage;
  selector: Selector;
  matching: Matching;
}

/** One TLSA RDATA: parameters plus association data as lower-case hex. */
export interface TlsaRecord extends TlsaParams {
  data: string;
}

const USAGES: Record<string, Usage> = { 'PKIX-TA': 0, 'PKIX-EE': 1, 'DANE-TA': 2, 'DANE-EE': 3 };
const SELECTORS: Record<string, Selector> = { CERT: 0, SPKI: 1 };
const MATCHINGS: Record<string, Matching> = { FULL: 0, 'SHA2-256': 1, 'SHA2-512': 2, SHA256: 1, SHA512: 2 };

/** Digest length in bytes for each matching type; 0 (Full) has no fixed length. */
export const DIGEST_BYTES: Record<Matching, number | undefined> = { 0: undefined, 1: 32, 2: 64 };

/** SHA-256 and SHA-512 of empty input: never publish them (a bug upstream hashed nothing). */
export const EMPTY_DIGESTS = new Set([
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e',
]);

function field<T extends number>(what: string, raw: string | number, names: Record<string, T>, max: number): T {
  const s = String(raw).trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n <= max) return n as T;
    throw new UserError(`${what} '${s}' is out of range: use 0-${max} or ${Object.keys(names).filter((k) => !/^SHA\d+$/.test(k)).join('/')}`);
  }
  const hit = names[s.toUpperCase()];
  if (hit !== undefined) return hit;
  throw new UserError(`${what} '${s}' is not valid: use 0-${max} or ${Object.keys(names).filter((k) => !/^SHA\d+$/.test(k)).join('/')}`);
}

export const parseUsage = (raw: string | number): Usage => field('usage', raw, USAGES, 3);
export const parseSelector = (raw: string | number): Selector => field('selector', raw, SELECTORS, 1);
export const parseMatching = (raw: string | number): Matching => field('matching type', raw, MATCHINGS, 2);

/** Parses "3 1 1" or "DANE-EE SPKI SHA2-256" into parameters. */
export function parseParams(raw: string): TlsaParams {
  const parts = raw.trim().split(/\s+/);
  if (parts.length !== 3 || parts[0] === '') {
    throw new UserError(`record parameters '${raw}' are not valid: give usage, selector and matching type, e.g. "3 1 1"`);
  }
  return { usage: parseUsage(parts[0]!), selector: parseSelector(parts[1]!), matching: parseMatching(parts[2]!) };
}

/** Checks association data for a record: hex, non-empty, the right length, not the empty-input hash. */
export function checkData(params: TlsaParams, hex: string, what = 'association data'): string {
  const data = hex.replace(/\s+/g, '').toLowerCase();
  if (data.length === 0) throw new UserError(`${what} is empty`);
  if (!/^[0-9a-f]+$/.test(data) || data.length % 2 !== 0) throw new UserError(`${what} '${hex}' is not an even number of hex digits`);
  const want = DIGEST_BYTES[params.matching];
  if (want !== undefined && data.length !== want * 2) {
    throw new UserError(`${what} has ${data.length / 2} bytes; matching type ${params.matching} needs ${want}`);
  }
  if (EMPTY_DIGESTS.has(data)) throw new UserError(`${what} is the digest of empty input: refusing to use it`);
  return data;
}

/** Parses presentation-format RDATA "3 1 1 ab cd..." (hex may hold spaces, RFC 6698 2.2). */
export function parseRecord(raw: string): TlsaRecord {
  const m = /^\s*(\S+)\s+(\S+)\s+(\S+)\s+([\s\S]+?)\s*$/.exec(raw);
  if (!m) throw new UserError(`TLSA record '${raw}' is not valid: expected "usage selector matching hex"`);
  const params = parseParams(`${m[1]} ${m[2]} ${m[3]}`);
  return { ...params, data: checkData(params, m[4]!, `TLSA record '${raw.trim()}'`) };
}

export const paramsText = (p: TlsaParams): string => `${p.usage} ${p.selector} ${p.matching}`;
export const recordText = (r: TlsaRecord): string => `${paramsText(r)} ${r.data}`;
export const sameRecord = (a: TlsaRecord, b: TlsaRecord): boolean =>
  a.usage === b.usage && a.selector === b.selector && a.matching === b.matching && a.data === b.data;
/** A stable key for sets and maps. */
export const recordKey = recordText;
