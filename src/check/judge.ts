// One record against one presented chain, the way a DANE client judges it (pure). A record
// matches, matches only for some clients ("weak": a trust anchor the server does not send), or
// does not, with the defect that explains why when there is one to name.
import { recordMatchesChain } from '../tlsa/compute.js';
import type { TlsaRecord } from '../tlsa/record.js';
import { brokenBelow, keyInRecord, namesHost, pkixPath, signedByKey } from './certpath.js';
import { recordDefect, type RecordDefectCode } from './records.js';

export type JudgeDefectCode = RecordDefectCode | 'ta-name' | 'ta-chain' | 'ta-not-sent' | 'pkix' | 'ee-cert';

export interface Judgement {
  match: 'yes' | 'weak' | 'no';
  defect?: { code: JudgeDefectCode; text: string };
}

export interface JudgeContext {
  /** The reference identifier: the TLSA base domain (the host of _PORT._tcp.HOST). */
  host?: string;
  /** RFC 7672 rules apply (SMTP): usages 0/1 are unusable. */
  smtp: boolean;
  /** DER trust anchors for usages 0/1; undefined: none at hand, those records are not verified. */
  trustStore?: Buffer[];
  now: number;
}

const matchesCert = (r: TlsaRecord, der: Buffer): boolean => recordMatchesChain({ ...r, usage: 3 }, [der]);

export function judgeRecord(r: TlsaRecord, certs: Buffer[], ctx: JudgeContext): Judgement {
  const defect = recordDefect(r, ctx.smtp);
  if (defect) return { match: 'no', defect };
  if (certs.length === 0) return { match: 'no' };
  if (r.usage === 3) {
    if (matchesCert(r, certs[0]!)) return { match: 'yes' };
    return r.selector === 0
      ? { match: 'no', defect: { code: 'ee-cert', text: 'names a whole certificate (selector 0) and breaks at every renewal; 3 1 1 (the key) survives renewals with the same key' } }
      : { match: 'no' };
  }
  if (r.usage === 2) return judgeDaneTa(r, certs, ctx);
  return judgePkix(r, certs, ctx);
}

function nameDefect(certs: Buffer[], ctx: JudgeContext): Judgement['defect'] {
  if (!ctx.host || namesHost(certs[0]!, ctx.host)) return undefined;
  return { code: 'ta-name', text: `matches a CA certificate the server sends, but the leaf does not name ${ctx.host} (DANE-TA needs name checks, RFC 7671 5.2.2): clients refuse it` };
}

function judgeDaneTa(r: TlsaRecord, certs: Buffer[], ctx: JudgeContext): Judgement {
  // Never the leaf itself (RFC 7671 5.2): a trust anchor is a CA certificate the server sends.
  const at = certs.findIndex((c, i) => i > 0 && matchesCert(r, c));
  if (at > 0) {
    const named = nameDefect(certs, ctx);
    if (named) return { match: 'no', defect: named };
    const broken = brokenBelow(certs, at);
    if (broken) return { match: 'no', defect: { code: 'ta-chain', text: `matches a CA certificate the server sends, but the chain is not signed up to it (${broken}): clients refuse it` } };
    return { match: 'yes' };
  }
  // 2 x 0 carries the anchor itself: OpenSSL accepts a chain it signs even when it is not sent.
  const key = r.matching === 0 ? keyInRecord(r.selector, r.data) : undefined;
  if (key && certs.length > 0 && signedByKey(certs, key)) {
    const named = nameDefect(certs, ctx);
    if (named) return { match: 'no', defect: named };
    return {
      match: 'weak',
      defect: { code: 'ta-not-sent', text: 'is the key of a CA the server does not send, which signs the chain: OpenSSL accepts it, ldns-dane and other clients refuse it (RFC 7672 3.1.2); send that CA certificate in the chain' },
    };
  }
  return { match: 'no' };
}

function judgePkix(r: TlsaRecord, certs: Buffer[], ctx: JudgeContext): Judgement {
  const candidates = r.usage === 1 ? [certs[0]!] : certs.slice(1);
  if (!candidates.some((c) => matchesCert(r, c))) return { match: 'no' };
  if (!ctx.trustStore) return { match: 'no', defect: { code: 'pkix', text: 'matches, but PKIX validation (usage 0/1) was not done: no trust store' } };
  const path = pkixPath(certs, ctx.trustStore, ctx.host, ctx.now);
  if (!path.ok) return { match: 'no', defect: { code: 'pkix', text: `matches, but the chain does not validate against the system trust store (${path.reason}): clients refuse it` } };
  const inPath = r.usage === 1 || path.path.slice(1).some((c) => matchesCert(r, c));
  return inPath ? { match: 'yes' } : { match: 'no', defect: { code: 'pkix', text: 'matches a certificate the server sends that is not on the validated PKIX path' } };
}
