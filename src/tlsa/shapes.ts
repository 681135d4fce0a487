// Recognises what a DER blob is by its ASN.1 shape and finds the exact SubjectPublicKeyInfo bytes
// in certificates (RFC 5280 4.1) and CSRs (RFC 2986 4). Unknown key algorithms are fine: selector
// 1 only needs the SPKI's bytes, not an understanding of the key.
import { DerError, TAG, bytesOf, children, oidText, readTlv, type Tlv } from './der.js';

export type DerShape =
  | { kind: 'certificate' | 'csr' | 'publicKey'; spki: Buffer }
  | { kind: 'privateKeyLike' | 'encryptedKey' | 'signedOther' | 'unknown' }
  /** A container that holds certificates (and keys) but is not one: openssl x509/pkey do not read it either. */
  | { kind: 'container'; format: 'PKCS#7' | 'PKCS#12' };

const PKCS7_SIGNED_DATA = '1.2.840.113549.1.7.2';
const PKCS7_DATA = '1.2.840.113549.1.7.1';

const tags = (list: Tlv[]): number[] => list.map((t) => t.tag);

/** SubjectPublicKeyInfo ::= SEQUENCE { AlgorithmIdentifier SEQUENCE { OID, params? }, BIT STRING } */
function isSpki(buf: Buffer, t: Tlv | undefined): t is Tlv {
  if (t?.tag !== TAG.SEQUENCE) return false;
  const parts = children(buf, t);
  if (parts.length !== 2 || parts[0]!.tag !== TAG.SEQUENCE || parts[1]!.tag !== TAG.BIT_STRING) return false;
  return children(buf, parts[0]!)[0]?.tag === TAG.OID;
}

/** TBSCertificate: [0] version?, serial, signature, issuer, validity, subject, SPKI, ... */
function tbsSpki(buf: Buffer, tbs: Tlv): Tlv | undefined {
  const parts = children(buf, tbs);
  const rest = parts[0]?.tag === TAG.CONTEXT_0 ? parts.slice(1) : parts;
  const head = tags(rest.slice(0, 5));
  const want = [TAG.INTEGER, TAG.SEQUENCE, TAG.SEQUENCE, TAG.SEQUENCE, TAG.SEQUENCE];
  if (head.join() !== want.join()) return undefined;
  return isSpki(buf, rest[5]) ? rest[5] : undefined;
}

/** CertificationRequestInfo: version, subject, SPKI, [0] attributes */
function csrSpki(buf: Buffer, info: Tlv): Tlv | undefined {
  const parts = children(buf, info);
  if (tags(parts).join() !== [TAG.INTEGER, TAG.SEQUENCE, TAG.SEQUENCE, TAG.CONTEXT_0].join()) return undefined;
  return isSpki(buf, parts[2]) ? parts[2] : undefined;
}

/**
 * What a DER blob is. The first element must be the whole blob unless `allowTrailing` (OpenSSL's
 * TRUSTED CERTIFICATE appends its trust settings after the certificate). Throws DerError.
 */
export function shapeOf(buf: Buffer, allowTrailing = false): DerShape {
  const outer = readTlv(buf, 0);
  if (outer.end !== buf.length && !allowTrailing) {
    throw new DerError(`${buf.length - outer.end} bytes of trailing data after the DER element`);
  }
  if (outer.tag !== TAG.SEQUENCE) return { kind: 'unknown' };
  const parts = children(buf, outer);
  const shape = tags(parts).join();
  if (shape === [TAG.SEQUENCE, TAG.SEQUENCE, TAG.BIT_STRING].join()) {
    const spki = tbsSpki(buf, parts[0]!);
    if (spki) return { kind: 'certificate', spki: bytesOf(buf, spki) };
    const reqSpki = csrSpki(buf, parts[0]!);
    if (reqSpki) return { kind: 'csr', spki: bytesOf(buf, reqSpki) };
    return { kind: 'signedOther' };
  }
  if (isSpki(buf, outer)) return { kind: 'publicKey', spki: bytesOf(buf, outer) };
  // ContentInfo { signedData OID, [0] ... } (a .p7b); PFX { version 3, ContentInfo { data OID ... } } (a .p12)
  if (shape === [TAG.OID, TAG.CONTEXT_0].join() && oidText(buf, parts[0]!) === PKCS7_SIGNED_DATA) return { kind: 'container', format: 'PKCS#7' };
  if (tags(parts.slice(0, 2)).join() === [TAG.INTEGER, TAG.SEQUENCE].join()) {
    const [oid] = children(buf, parts[1]!);
    if (oid?.tag === TAG.OID && oidText(buf, oid) === PKCS7_DATA) return { kind: 'container', format: 'PKCS#12' };
  }
  if (shape === [TAG.SEQUENCE, TAG.OCTET_STRING].join()) return { kind: 'encryptedKey' };
  if (parts[0]?.tag === TAG.INTEGER) return { kind: 'privateKeyLike' };
  return { kind: 'unknown' };
}

/** The exact SPKI bytes of a DER certificate (a view into `der`). Throws DerError. */
export function spkiOfCertDer(der: Buffer): Buffer {
  const shape = shapeOf(der);
  if (shape.kind !== 'certificate') throw new DerError('not an X.509 certificate');
  return shape.spki;
}

const KEY_ALGS: Record<string, string> = {
  '1.2.840.113549.1.1.1': 'rsa',
  '1.2.840.113549.1.1.10': 'rsa-pss',
  '1.3.101.110': 'x25519',
  '1.3.101.111': 'x448',
  '1.3.101.112': 'ed25519',
  '1.3.101.113': 'ed448',
  '1.2.840.10040.4.1': 'dsa',
};
const CURVES: Record<string, string> = {
  '1.2.840.10045.3.1.7': 'ec-p256',
  '1.3.132.0.34': 'ec-p384',
  '1.3.132.0.35': 'ec-p521',
  '1.3.132.0.10': 'ec-secp256k1',
};

/** A short name for the key type in an SPKI: rsa, rsa-pss, ec-p256, ed25519... or the OID. */
export function keyTypeOfSpki(spki: Buffer): string {
  const [alg] = children(spki, readTlv(spki, 0));
  const [oid, params] = children(spki, alg!);
  const algOid = oidText(spki, oid!);
  if (algOid === '1.2.840.10045.2.1') {
    const curve = params?.tag === TAG.OID ? oidText(spki, params) : 'explicit';
    return CURVES[curve] ?? `ec-${curve}`;
  }
  return KEY_ALGS[algOid] ?? algOid;
}
