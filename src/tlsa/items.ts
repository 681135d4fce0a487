// One PEM block or one DER blob -> one item: a certificate, a key or a CSR. Private keys go
// through node:crypto (it knows PKCS#8, PKCS#1 and SEC1 for every key type); everything public is
// sliced from the original bytes by shapes.ts.
import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readTlv } from './der.js';
import type { PemBlock } from './pem.js';
import { shapeOf } from './shapes.js';

export type Item =
  | { kind: 'certificate'; der: Buffer; spki: Buffer }
  | { kind: 'csr' | 'publicKey'; spki: Buffer }
  | { kind: 'privateKey'; key: KeyObject; spki: Buffer; pkcs8?: Buffer }
  | { kind: 'ignored' };

/** Thrown when a block or blob is not usable; the loader adds the file name. */
export class ItemError extends Error {}

const ENCRYPTED = 'is an encrypted private key: encrypted keys are not supported (decrypt it with `openssl pkey`)';

/** PKCS#7 and PKCS#12 hold certificates but are not what servers read: say how to get the PEM out. */
const CONTAINER_HINT = {
  'PKCS#7': 'is a PKCS#7 bundle (.p7b), not a certificate file: extract the PEM certificates with `openssl pkcs7 -print_certs -in FILE`',
  'PKCS#12': 'is a PKCS#12 file (.p12/.pfx), not a certificate or key file: extract them with `openssl pkcs12 -in FILE -nokeys` (and -nocerts -noenc for the key)',
} as const;

const spkiOfKey = (key: KeyObject): Buffer => createPublicKey(key).export({ type: 'spki', format: 'der' });

/** `pkcs8`: the key's own PKCS#8 bytes, when it came so (a copy of it needs no export). */
function privateItem(der: Buffer, type: 'pkcs8' | 'pkcs1' | 'sec1'): Item {
  const key = createPrivateKey({ key: der, format: 'der', type });
  let whole = false;
  try {
    whole = type === 'pkcs8' && readTlv(der, 0).end === der.length;
  } catch {
    // BER (an indefinite length) that OpenSSL reads: the copy is exported as DER instead
  }
  return { kind: 'privateKey', key, spki: spkiOfKey(key), ...(whole ? { pkcs8: der } : {}) };
}

function rsaPublicItem(der: Buffer): Item {
  const spki = createPublicKey({ key: der, format: 'der', type: 'pkcs1' }).export({ type: 'spki', format: 'der' });
  return { kind: 'publicKey', spki };
}

/** Tries each form in turn; the first that node:crypto accepts wins. */
function firstThatParses(der: Buffer, tries: ((d: Buffer) => Item)[], what: string): Item {
  for (const attempt of tries) {
    try {
      return attempt(der);
    } catch {
      // next form
    }
  }
  throw new ItemError(what);
}

/** A DER blob of unknown kind (a .der/.crt/.key file). */
export function itemFromDer(der: Buffer): Item {
  const shape = shapeOf(der);
  switch (shape.kind) {
    case 'certificate':
      return { kind: 'certificate', der, spki: shape.spki };
    case 'csr':
    case 'publicKey':
      return { kind: shape.kind, spki: shape.spki };
    case 'encryptedKey':
      throw new ItemError(ENCRYPTED);
    case 'container':
      throw new ItemError(CONTAINER_HINT[shape.format]);
    case 'signedOther':
      throw new ItemError('is a signed object but not a certificate or CSR (a CRL?)');
    case 'privateKeyLike':
      return firstThatParses(
        der,
        [(d) => privateItem(d, 'pkcs8'), (d) => privateItem(d, 'pkcs1'), (d) => privateItem(d, 'sec1'), rsaPublicItem],
        'is DER but not a certificate, key or CSR',
      );
    default:
      throw new ItemError('is DER but not a certificate, key or CSR');
  }
}

/** What each PEM label should hold; labels not listed here are refused unless ignorable. */
export function itemFromPem(block: PemBlock, n: number): Item {
  const { label, der } = block;
  const where = `PEM block ${n} (${label})`;
  if (block.headers.some((h) => /ENCRYPTED/i.test(h)) || label === 'ENCRYPTED PRIVATE KEY') throw new ItemError(ENCRYPTED);
  const expect = (kinds: Item['kind'][], allowTrailing = false): Item => {
    let item: Item;
    try {
      const shape = shapeOf(der, allowTrailing);
      if (allowTrailing && shape.kind === 'certificate') {
        item = { kind: 'certificate', der: der.subarray(0, readTlv(der, 0).end), spki: shape.spki };
      } else item = itemFromDer(der);
    } catch (e) {
      const msg = (e as Error).message;
      throw new ItemError(e instanceof ItemError ? `${where} ${msg}` : `${where} is not a valid ${kinds[0]}: ${msg}`);
    }
    if (!kinds.includes(item.kind)) throw new ItemError(`${where} does not hold a ${kinds[0]} (it holds a ${item.kind})`);
    return item;
  };
  const parse = (how: (d: Buffer) => Item, what: string): Item => firstThatParses(der, [how], `${where} is not a valid ${what}`);
  switch (label) {
    case 'CERTIFICATE':
    case 'X509 CERTIFICATE':
      return expect(['certificate']);
    case 'TRUSTED CERTIFICATE':
      return expect(['certificate'], true);
    case 'CERTIFICATE REQUEST':
    case 'NEW CERTIFICATE REQUEST':
      return expect(['csr']);
    case 'PUBLIC KEY':
      return expect(['publicKey']);
    case 'RSA PUBLIC KEY':
      return parse(rsaPublicItem, 'PKCS#1 RSA public key');
    case 'PRIVATE KEY':
      return parse((d) => privateItem(d, 'pkcs8'), 'PKCS#8 private key');
    case 'RSA PRIVATE KEY':
      return parse((d) => privateItem(d, 'pkcs1'), 'PKCS#1 RSA private key');
    case 'EC PRIVATE KEY':
      return parse((d) => privateItem(d, 'sec1'), 'SEC1 EC private key');
    case 'EC PARAMETERS':
      return { kind: 'ignored' };
    case 'PKCS7':
    case 'CMS':
      throw new ItemError(`${where} ${CONTAINER_HINT['PKCS#7']}`);
    default:
      throw new ItemError(`${where} is not a certificate, key or CSR`);
  }
}
