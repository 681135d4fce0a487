// What a DANE client makes of one TLSA record on its own, before any matching. Pure.
// - Parameters outside the IANA registries (usage 0-3, selector 0-1, matching type 0-2; 255 is
//   private use) make a record unusable (RFC 6698 7, RFC 7671 4.1): a client skips it.
// - For SMTP, usages 0 and 1 (PKIX-TA, PKIX-EE) are unusable too (RFC 7672 3.1.3).
// - A digest of the wrong length, or the digest of empty input, can never match anything.
import { DIGEST_BYTES, EMPTY_DIGESTS, type Matching, type TlsaRecord } from '../tlsa/record.js';

export type RecordDefectCode = 'unusable' | 'digest-length' | 'empty-digest';

export interface RecordDefect {
  code: RecordDefectCode;
  /** Says what is wrong, without the record (the caller names it). */
  text: string;
}

const USAGE_NAME = ['PKIX-TA', 'PKIX-EE', 'DANE-TA', 'DANE-EE'];

/** The first three fields as served, e.g. "3 1 1"; safe for any wire values. */
export const paramsOf = (r: TlsaRecord): string => `${r.usage} ${r.selector} ${r.matching}`;

/** A short form for messages: parameters and the first hex digits. */
export const shortRecord = (r: TlsaRecord): string => `${paramsOf(r)} ${r.data.slice(0, 16)}…`;

export function recordDefect(r: TlsaRecord, smtp: boolean): RecordDefect | undefined {
  // Wire values are not limited to the model's types: a record from DNS may say 255.
  const [u, s, m] = [r.usage as number, r.selector as number, r.matching as number];
  const unassigned = [u > 3 && `usage ${u}`, s > 1 && `selector ${s}`, m > 2 && `matching type ${m}`].filter(Boolean);
  if (unassigned.length > 0) {
    const privateUse = [u, s, m].includes(255) ? ' (255 is for private use)' : '';
    return { code: 'unusable', text: `${unassigned.join(', ')} ${unassigned.length > 1 ? 'are' : 'is'} not assigned${privateUse}: clients skip the record` };
  }
  if (smtp && u <= 1) {
    return { code: 'unusable', text: `usage ${u} (${USAGE_NAME[u]}) is unusable for SMTP (RFC 7672 3.1.3): mail servers skip it; publish 3 1 1 and 2 1 1` };
  }
  const want = DIGEST_BYTES[m as Matching];
  if (want !== undefined && r.data.length !== want * 2) {
    return { code: 'digest-length', text: `holds ${r.data.length / 2} bytes, but matching type ${m} (SHA2-${m === 1 ? 256 : 512}) digests have ${want}: it can match nothing` };
  }
  if (EMPTY_DIGESTS.has(r.data.toLowerCase())) {
    return { code: 'empty-digest', text: 'is the digest of empty input (a tool hashed nothing): it can match nothing' };
  }
  return undefined;
}
