// Turns certificate files on disk into what the rollover needs: the chain's records and a private
// copy of its files in the state dir (a staged chain must outlive the client's next renewal).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { CertFiles } from '../acme/types.js';
import type { ServiceSettings } from '../config/types.js';
import { derToPem, kindText, loadChain, loadMaterial, parseMaterial, readSource, shownSource, spkiOfCertDer, type Material, type MaterialReader } from '../tlsa/load.js';
import { certFacts } from '../tlsa/cert-facts.js';
import { recordForKey, recordMatchesChain, recordsForChain } from '../tlsa/compute.js';
import { paramsText, recordKey, type TlsaRecord } from '../tlsa/record.js';
import type { ChainRef } from '../rollover/types.js';
import { writeFilesAtomicSync, type FilesWriter } from '../state/atomic.js';
import { serviceDir, type ChainInfo } from '../state/store.js';

export interface LoadedChain {
  ref: ChainRef;
  info: Omit<ChainInfo, 'dir' | 'addedAt'>;
  certs: Buffer[];
  keyPem: string;
  warnings: string[];
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Reads the renewed files once each: leaf + issuers (from fullchain, or cert + chain), and the key. */
export function loadDeployedChain(files: CertFiles, settings: ServiceSettings, pins: TlsaRecord[], read: MaterialReader = loadMaterial): LoadedChain {
  const warnings: string[] = [];
  const seen = new Map<string, Material>();
  const material = (path: string): Material => seen.get(path) ?? seen.set(path, read(path)).get(path)!;
  const certsOf = (path: string): Buffer[] => {
    const m = material(path);
    if (m.kind !== 'certificate') throw new UserError(`${shownSource(path)} holds ${kindText(m.kind)}, not certificates`);
    return m.certs;
  };
  let certs = certsOf(files.fullchain ?? files.cert);
  if (files.fullchain) {
    const leaf = certsOf(files.cert)[0]!;
    if (!leaf.equals(certs[0]!)) throw new UserError(`${files.fullchain} does not start with the certificate in ${files.cert}`);
  } else if (files.chain && certs.length === 1) {
    certs = [...certs, ...certsOf(files.chain)];
  }
  const key = material(files.key);
  if (key.kind !== 'privateKey') throw new UserError(`${files.key} holds ${kindText(key.kind)}, not a private key`);
  const leafMaterial = material(files.cert);
  if (!key.spki.equals(leafMaterial.spki)) {
    // A chain in the wrong order: the key belongs to a later certificate, and the leaf must come first.
    const at = certs.findIndex((c) => spkiOfCertDer(c).equals(key.spki));
    if (at > 0) throw new UserError(`key ${files.key} matches certificate ${at + 1} in ${files.fullchain ?? files.cert}, not the first: the server's own certificate must come first (leaf, then its issuers)`);
    throw new UserError(`key ${files.key} does not match certificate ${files.cert} (their public keys differ)`);
  }
  const records = new Map<string, TlsaRecord>();
  for (const p of settings.records) {
    if ((p.usage === 0 || p.usage === 2) && certs.length < 2) {
      warnings.push(`no issuer certificate came with ${files.cert}: no ${paramsText(p)} record for it (give --chain or --fullchain)`);
      continue;
    }
    for (const r of recordsForChain(certs, p)) records.set(recordKey(r), r);
  }
  for (const pin of pins) if (recordMatchesChain(pin, certs)) records.set(recordKey(pin), pin);
  if (records.size === 0) {
    throw new UserError(`no TLSA record can be made for ${files.cert} with ${settings.records.map(paramsText).join(', ')}: nothing would match it (add "3 1 1", or give the chain)`);
  }
  const x = certFacts(certs[0]!);
  const id = sha256(certs[0]!);
  // The copy is PKCS#8 PEM: the file's own bytes when it held PKCS#8 (an export re-encodes through OpenSSL, the costly part of a copy).
  const keyPem = key.pkcs8 ? derToPem(key.pkcs8, 'PRIVATE KEY') : key.privateKey!.export({ type: 'pkcs8', format: 'pem' }).toString();
  return {
    ref: { id, records: [...records.values()], notBefore: x.notBefore, notAfter: x.notAfter },
    info: { id, subject: x.subject.replace(/\n/g, ', '), issuer: x.issuer.replace(/\n/g, ', '), notAfter: new Date(x.notAfter).toISOString(), keyType: leafMaterial.keyType, spki: leafMaterial.spki.toString('hex') },
    certs,
    keyPem,
    warnings,
  };
}

/** Keeps a copy of the chain's files under the service's state folder; the key file is 0600. */
export async function storeChain(stateDir: string, serviceId: string, chain: LoadedChain, now: number, write: FilesWriter = writeFilesAtomicSync): Promise<ChainInfo> {
  const dir = join(serviceDir(stateDir, serviceId), 'chains', chain.ref.id.slice(0, 16));
  const pems = chain.certs.map((c) => derToPem(c, 'CERTIFICATE'));
  // The state names the folder only after this returns: the files may land in any order.
  await write(dir, [
    { name: 'privkey.pem', data: chain.keyPem, mode: 0o600 },
    { name: 'cert.pem', data: pems[0]! },
    { name: 'chain.pem', data: pems.slice(1).join('') },
    { name: 'fullchain.pem', data: pems.join('') },
  ]);
  return { ...chain.info, dir, addedAt: now };
}

/** A next key: only its selector-1 end-entity records exist before a certificate does. */
export function nextKeyRef(path: string, settings: ServiceSettings): { ref: ChainRef; keyType: string } {
  const m = parseMaterial(readSource(path), path);
  if (m.kind === 'certificate') throw new UserError(`next key ${path} holds a certificate, not a key`);
  const specs = settings.records.filter((p) => (p.usage === 3 || p.usage === 1) && p.selector === 1);
  if (specs.length === 0) {
    throw new UserError(`a next key needs a selector-1 end-entity record (e.g. --records "3 1 1"); configured: ${settings.records.map(paramsText).join(', ')}`);
  }
  return { ref: { id: `key-${sha256(m.spki)}`, records: specs.map((p) => recordForKey(m.spki, p)) }, keyType: m.keyType };
}

/** Validity (ms) of the stored copy of a chain's leaf (cert.pem in its folder); undefined if unreadable. */
export function storedValidity(dir: string): { notBefore: number; notAfter: number } | undefined {
  try {
    const { notBefore, notAfter } = certFacts(loadChain(join(dir, 'cert.pem'))[0]!);
    return { notBefore, notAfter };
  } catch {
    return undefined;
  }
}
