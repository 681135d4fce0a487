// TLSA association data from certificates and keys (RFC 6698 2.1). Pure: bytes in, records out.
import { createHash } from 'node:crypto';
import { UserError } from '../errors.js';
import { spkiOfCertDer, type Material } from './load.js';
import { checkData, paramsText, recordKey, type TlsaParams, type TlsaRecord } from './record.js';

function associate(bytes: Buffer, params: TlsaParams): TlsaRecord {
  const data =
    params.matching === 0 ? bytes.toString('hex') : createHash(params.matching === 1 ? 'sha256' : 'sha512').update(bytes).digest('hex');
  return { ...params, data: checkData(params, data) };
}

/** Selector 0 takes the whole certificate, selector 1 its SubjectPublicKeyInfo. */
const selected = (certDer: Buffer, params: TlsaParams): Buffer => (params.selector === 0 ? certDer : spkiOfCertDer(certDer));

/**
 * The certificates a trust-anchor record (usage 0 or 2) may name: every certificate after the
 * leaf; a file holding a single certificate is taken as the CA certificate itself.
 */
export const anchorCandidates = (certs: Buffer[]): Buffer[] => (certs.length > 1 ? certs.slice(1) : certs);

const isAnchorUsage = (p: TlsaParams): boolean => p.usage === 0 || p.usage === 2;

/** Usage 1/3: the leaf. Usage 0/2: each CA certificate (see anchorCandidates). Duplicates dropped. */
export function recordsForChain(certs: Buffer[], params: TlsaParams): TlsaRecord[] {
  if (certs.length === 0) throw new UserError('no certificates to make TLSA records from');
  const chosen = isAnchorUsage(params) ? anchorCandidates(certs) : [certs[0]!];
  const seen = new Map<string, TlsaRecord>();
  for (const der of chosen) {
    const r = associate(selected(der, params), params);
    seen.set(recordKey(r), r);
  }
  return [...seen.values()];
}

/** A record for a bare public key (a next key with no certificate yet): selector must be 1. */
export function recordForKey(spki: Buffer, params: TlsaParams): TlsaRecord {
  if (params.selector !== 1) {
    throw new UserError(`TLSA ${paramsText(params)} needs a certificate: a key alone only gives selector 1 (SPKI) records`);
  }
  return associate(spki, params);
}

/** Records for what a file held: a chain, or a key/CSR (selector 1 only). */
export function tlsaFor(material: Material, params: TlsaParams): TlsaRecord[] {
  if (material.kind === 'certificate') return recordsForChain(material.certs, params);
  if (params.selector !== 1) {
    const what = material.kind === 'csr' ? 'a CSR' : material.kind === 'privateKey' ? 'a private key' : 'a public key';
    const src = material.source === '-' ? 'standard input' : material.source;
    throw new UserError(`${src} holds ${what}: TLSA ${paramsText(params)} needs a certificate (use selector 1, SPKI)`);
  }
  return [recordForKey(material.spki, params)];
}

/** True when the chain (leaf first, as served) satisfies the record: 1/3 the leaf, 0/2 a CA cert. */
export function recordMatchesChain(record: TlsaRecord, certs: Buffer[]): boolean {
  if (certs.length === 0) return false;
  const candidates = isAnchorUsage(record) ? anchorCandidates(certs) : [certs[0]!];
  return candidates.some((der) => associate(selected(der, record), record).data === record.data.toLowerCase());
}
