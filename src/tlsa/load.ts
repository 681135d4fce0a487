// Certificates, keys and CSRs from files: PEM (one block or a bundle) or DER. parseMaterial is
// pure; loadMaterial/loadChain are the edge that reads a path or standard input ('-').
import type { KeyObject } from 'node:crypto';
import { UserError } from '../errors.js';
import { readBounded } from '../io/read-bounded.js';
import { shownValue } from '../io/shown.js';
import { DerError, readTlv } from './der.js';
import { itemFromDer, itemFromPem, ItemError, type Item } from './items.js';
import { looksLikePem, PemError, pemBlocks } from './pem.js';
import { keyTypeOfSpki, spkiOfCertDer as sliceSpki } from './shapes.js';

export { derToPem } from './pem.js';

export type MaterialKind = 'certificate' | 'privateKey' | 'publicKey' | 'csr';

/** A kind as a message names it: 'a CSR', 'a public key'. */
export const kindText = (kind: MaterialKind): string =>
  ({ certificate: 'a certificate', privateKey: 'a private key', publicKey: 'a public key', csr: 'a CSR' })[kind];

export interface Material {
  /** File path or '-' (standard input); named in error messages. */
  source: string;
  kind: MaterialKind;
  /** DER certificates in file order (leaf first in a chain or fullchain); [] for keys and CSRs. */
  certs: Buffer[];
  /** The exact DER SubjectPublicKeyInfo of the leaf, key or CSR. */
  spki: Buffer;
  /** rsa, rsa-pss, ec-p256, ec-p384, ec-p521, ed25519, ed448, ... or the algorithm's OID. */
  keyType: string;
  /** For private keys, and certificate files that also hold the leaf's private key. */
  privateKey?: KeyObject;
  /** That key's PKCS#8 DER as the file held it, when it was PKCS#8. */
  pkcs8?: Buffer;
}

/** How a source is named in messages. */
export const shownSource = (source: string): string => (source === '-' ? 'standard input' : shownValue(source));

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** A DER blob is one element that fills the file; anything else holding a BEGIN line is PEM. */
function isWholeDer(bytes: Buffer): boolean {
  try {
    return bytes[0] === 0x30 && readTlv(bytes, 0).end === bytes.length;
  } catch {
    return false;
  }
}

/** UTF-16 (Windows editors save "Unicode" so): a BOM, or the dashes of a BEGIN line with NULs between. */
const isUtf16 = (bytes: Buffer): boolean =>
  (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff) || bytes.includes(Buffer.from('-\0-\0-\0-\0-\0', 'latin1')) || bytes.includes(Buffer.from('\0-\0-\0-\0-\0-', 'latin1'));

function items(bytes: Buffer): Item[] {
  if (bytes[0] !== 0x30 && isUtf16(bytes)) throw new ItemError('is UTF-16 text, which openssl does not read: save it as ASCII (iconv -f UTF-16 -t UTF-8)');
  if (!isWholeDer(bytes) && looksLikePem(bytes)) {
    const text = bytes.subarray(bytes.subarray(0, 3).equals(BOM) ? 3 : 0).toString('latin1');
    const blocks = pemBlocks(text);
    return blocks.map((b, i) => itemFromPem(b, i + 1)).filter((it) => it.kind !== 'ignored');
  }
  if (bytes[0] !== 0x30) throw new ItemError('is not a certificate, key or CSR: no PEM block and not DER');
  return [itemFromDer(bytes)];
}

/** Parses file contents. Throws a one-line UserError naming `source`. */
export function parseMaterial(bytes: Buffer, source: string): Material {
  const shown = shownSource(source);
  if (bytes.length === 0) throw new UserError(`${shown} is empty`);
  let found: Item[];
  try {
    found = items(bytes);
  } catch (e) {
    if (e instanceof ItemError) throw new UserError(`${shown} ${e.message}`, { cause: e });
    if (e instanceof PemError) throw new UserError(`${shown}: ${e.message}`, { cause: e });
    if (e instanceof DerError) throw new UserError(`${shown} is not valid DER: ${e.message}`, { cause: e });
    throw e;
  }
  return assemble(found, source, shown);
}

/** A file may hold certificates plus the leaf's key (a combined PEM), or exactly one other item. */
function assemble(found: Item[], source: string, shown: string): Material {
  if (found.length === 0) throw new UserError(`${shown} holds no certificate, key or CSR`);
  const certs = found.flatMap((it) => (it.kind === 'certificate' ? [it.der] : []));
  const keys = found.filter((it) => it.kind === 'privateKey');
  const others = found.filter((it) => it.kind === 'csr' || it.kind === 'publicKey');
  if (keys.length > 1) throw new UserError(`${shown} holds ${keys.length} private keys: give one key per file`);
  if (certs.length > 0) {
    if (others.length > 0) throw new UserError(`${shown} mixes certificates with a ${others[0]!.kind === 'csr' ? 'CSR' : 'public key'}: give one per file`);
    const leaf = found.find((it) => it.kind === 'certificate')!;
    const key = keys[0];
    if (key && !key.spki.equals(leaf.spki)) throw new UserError(`${shown} holds a private key that does not match its first certificate`);
    return { source, kind: 'certificate', certs, spki: leaf.spki, keyType: keyTypeOfSpki(leaf.spki), privateKey: key?.key, ...(key?.pkcs8 ? { pkcs8: key.pkcs8 } : {}) };
  }
  if (found.length > 1) throw new UserError(`${shown} holds ${found.length} keys or CSRs: give one per file`);
  const only = found[0]!;
  if (only.kind === 'privateKey') return { source, kind: 'privateKey', certs: [], spki: only.spki, keyType: keyTypeOfSpki(only.spki), privateKey: only.key, ...(only.pkcs8 ? { pkcs8: only.pkcs8 } : {}) };
  if (only.kind === 'csr' || only.kind === 'publicKey') return { source, kind: only.kind, certs: [], spki: only.spki, keyType: keyTypeOfSpki(only.spki) };
  throw new UserError(`${shown} holds no certificate, key or CSR`);
}

/** Reads a file or standard input ('-'), refusing devices, FIFOs and huge files. One-line UserError naming the path. */
export const readSource = (path: string): Buffer => readBounded(path, { what: shownSource(path) });

export const loadMaterial = (path: string): Material => parseMaterial(readSource(path), path);

/** How a run reads certificate and key files: loadMaterial, or a cache of it (engine/material-cache.ts). */
export type MaterialReader = (path: string) => Material;

/** Certificates only (a cert.pem, chain.pem or fullchain.pem), leaf first. */
export function loadChain(path: string, read: MaterialReader = loadMaterial): Buffer[] {
  const m = read(path);
  if (m.kind !== 'certificate') throw new UserError(`${shownSource(path)} holds ${kindText(m.kind)}, not certificates`);
  return m.certs;
}

/** True when the key (private, public or CSR) is the one certified by the leaf of `cert`. */
export const keyMatchesCert = (key: Material, cert: Material): boolean => key.spki.equals(cert.spki);

/** The exact SPKI bytes of a DER certificate (a view into `der`). */
export function spkiOfCertDer(der: Buffer): Buffer {
  try {
    return sliceSpki(der);
  } catch (e) {
    throw new UserError(`certificate is not valid: ${(e as Error).message}`, { cause: e });
  }
}
