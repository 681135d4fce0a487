// What the state records of a deployed leaf (validity, subject, issuer), read from its DER with
// der.ts: a run over a thousand services parsed each leaf with X509Certificate (0.2-0.3 ms each)
// only for these four fields. The names come out as X509Certificate prints them ("C=US\nO=X\nCN=Y");
// a name this reader does not print the same way for sure (a rare attribute, a character OpenSSL
// escapes, a multi-valued RDN, another string type) is left to X509Certificate.
import { X509Certificate } from 'node:crypto';
import { TAG, children, oidText, readTlv, type Tlv } from './der.js';

export interface CertFacts {
  notBefore: number;
  notAfter: number;
  /** One attribute per line, as X509Certificate.subject. */
  subject: string;
  issuer: string;
}

const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
};

/** UTF8String, PrintableString, IA5String. */
const STRING_TAGS = new Set([0x0c, 0x13, 0x16]);

/** Printable ASCII that OpenSSL prints as it is (no escape, no hex). */
const PLAIN = /^[A-Za-z0-9 '()*./:?@_-]*$/;

export function certFacts(der: Buffer): CertFacts {
  return certFactsOfDer(der) ?? fromX509(der);
}

function fromX509(der: Buffer): CertFacts {
  const x = new X509Certificate(der);
  return { notBefore: Date.parse(x.validFrom), notAfter: Date.parse(x.validTo), subject: x.subject, issuer: x.issuer };
}

/** The facts as der.ts reads them; undefined when anything is not as this reader expects. */
export function certFactsOfDer(der: Buffer): CertFacts | undefined {
  try {
    const cert = readTlv(der);
    const tbs = children(der, cert)[0];
    if (cert.tag !== TAG.SEQUENCE || tbs?.tag !== TAG.SEQUENCE) return undefined;
    const fields = children(der, tbs);
    // version [0] is optional; then serial, signature algorithm, issuer, validity, subject.
    const at = fields[0]?.tag === TAG.CONTEXT_0 ? 1 : 0;
    const [issuer, validity, subject] = [fields[at + 2], fields[at + 3], fields[at + 4]];
    if (!issuer || !validity || !subject || validity.tag !== TAG.SEQUENCE) return undefined;
    const [from, to] = children(der, validity);
    const notBefore = from && timeOf(der, from);
    const notAfter = to && timeOf(der, to);
    const subjectText = nameText(der, subject);
    const issuerText = nameText(der, issuer);
    if (notBefore === undefined || notAfter === undefined || subjectText === undefined || issuerText === undefined) return undefined;
    return { notBefore, notAfter, subject: subjectText, issuer: issuerText };
  } catch {
    return undefined;
  }
}

/** UTCTime YYMMDDHHMMSSZ (years 1950-2049) or GeneralizedTime YYYYMMDDHHMMSSZ, as RFC 5280 4.1.2.5 has them. */
function timeOf(der: Buffer, t: Tlv): number | undefined {
  const text = der.toString('latin1', t.body, t.end);
  const m = t.tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : t.tag === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text) : null;
  if (!m) return undefined;
  const n = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const year = t.tag === 0x17 ? (n[0] >= 50 ? 1900 + n[0] : 2000 + n[0]) : n[0];
  const ms = Date.UTC(year, n[1] - 1, n[2], n[3], n[4], n[5]);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A Name (SEQUENCE of single-attribute SETs) as lines "CN=value"; undefined if any part is unusual. */
function nameText(der: Buffer, name: Tlv): string | undefined {
  if (name.tag !== TAG.SEQUENCE) return undefined;
  const lines: string[] = [];
  for (const rdn of children(der, name)) {
    const attrs = rdn.tag === TAG.SET ? children(der, rdn) : [];
    if (attrs.length !== 1 || attrs[0]!.tag !== TAG.SEQUENCE) return undefined;
    const [type, value, extra] = children(der, attrs[0]!);
    if (!type || !value || extra || type.tag !== TAG.OID || !STRING_TAGS.has(value.tag)) return undefined;
    const short = SHORT_NAMES[oidText(der, type)];
    const text = der.toString('latin1', value.body, value.end);
    if (!short || !PLAIN.test(text) || text.startsWith(' ') || text.endsWith(' ')) return undefined;
    lines.push(`${short}=${text}`);
  }
  return lines.join('\n');
}
