// A real test PKI made with openssl at run time: a root CA, an intermediate, and leaves of every
// key type, each written in the forms people have on disk (PEM, DER, CRLF, `x509 -text` output,
// chain/fullchain bundles, PKCS#8/PKCS#1/SEC1 keys, public keys, CSRs). Reusable by other tests.
import { execa } from 'execa';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { requireTool } from './tools.js';

export type KeyKind = 'rsa' | 'rsa-pss' | 'ec-p256' | 'ec-p384' | 'ec-p521' | 'ed25519' | 'ed448';
export const KEY_KINDS: readonly KeyKind[] = ['rsa', 'rsa-pss', 'ec-p256', 'ec-p384', 'ec-p521', 'ed25519', 'ed448'];

const GENPKEY: Record<KeyKind, string[]> = {
  rsa: ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'],
  'rsa-pss': ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048'],
  'ec-p256': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-pkeyopt', 'ec_param_enc:named_curve'],
  'ec-p384': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384', '-pkeyopt', 'ec_param_enc:named_curve'],
  'ec-p521': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521', '-pkeyopt', 'ec_param_enc:named_curve'],
  ed25519: ['-algorithm', 'ED25519'],
  ed448: ['-algorithm', 'ED448'],
};
const CURVE_NAME: Partial<Record<KeyKind, string>> = { 'ec-p256': 'prime256v1', 'ec-p384': 'secp384r1', 'ec-p521': 'secp521r1' };

export interface CaPaths {
  name: string;
  cert: string;
  key: string;
}

export interface LeafPaths {
  kind: KeyKind;
  dir: string;
  host: string;
  /** The leaf alone, PEM; and the same as DER, with CRLF line ends, and as `openssl x509 -text` prints it. */
  cert: string;
  certDer: string;
  certCrlf: string;
  certText: string;
  /** The intermediate alone (certbot's chain.pem), leaf + intermediate, and leaf + intermediate + root. */
  chain: string;
  fullchain: string;
  fullchainWithRoot: string;
  /** Fullchain followed by the private key, as some servers want one combined file. */
  combined: string;
  /** PKCS#8 private key PEM and DER. */
  key: string;
  keyDer: string;
  /** RSA: PKCS#1 "RSA PRIVATE KEY". EC: SEC1 "EC PRIVATE KEY", and with an "EC PARAMETERS" block before it. */
  keyTraditional?: string;
  keyWithParams?: string;
  /** SubjectPublicKeyInfo PEM and DER; RSA also as PKCS#1 "RSA PUBLIC KEY". */
  pub: string;
  pubDer: string;
  pubRsa?: string;
  csr: string;
  csrDer: string;
}

export interface Pki {
  dir: string;
  root: CaPaths;
  intermediate: CaPaths;
  leaves: Record<KeyKind, LeafPaths>;
}

export interface LeafOptions {
  kind: KeyKind;
  host?: string;
  /** Reuse this PKCS#8 key file instead of generating a new key (a renewal with --reuse-key). */
  key?: string;
  /** Validity in days (default 30). */
  days?: number;
}

/** Runs openssl (no shell) and returns stdout as a Buffer. */
export async function openssl(args: string[], input?: Buffer | string): Promise<Buffer> {
  const r = await execa(requireTool('openssl'), args, { input, encoding: 'buffer', stripFinalNewline: false });
  return Buffer.from(r.stdout);
}

let serial = 1000 + Math.floor(Math.random() * 1e6);
const nextSerial = (): string => String(serial++);

async function caCert(dir: string, name: string, issuer: CaPaths | undefined): Promise<CaPaths> {
  const key = join(dir, `${name}.key`);
  const cert = join(dir, `${name}.pem`);
  await openssl(['genpkey', ...GENPKEY['ec-p256'], '-out', key]);
  const subj = `/CN=dane-hook test ${name}`;
  if (!issuer) {
    await openssl(['req', '-x509', '-new', '-key', key, '-subj', subj, '-days', '30', '-set_serial', nextSerial(),
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', cert]);
  } else {
    const csr = await openssl(['req', '-new', '-key', key, '-subj', subj]);
    const ext = join(dir, `${name}.ext`);
    await writeFile(ext, 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n');
    await openssl(['x509', '-req', '-CA', issuer.cert, '-CAkey', issuer.key, '-set_serial', nextSerial(), '-days', '30', '-extfile', ext, '-out', cert], csr);
  }
  return { name, cert, key };
}

/** A new intermediate signed by the root (e.g. a sibling issuer, as Let's Encrypt rotates R10-R14). */
export const makeIntermediate = (pki: Pki, name: string): Promise<CaPaths> => caCert(pki.dir, name, pki.root);

/** A leaf for `host` signed by `issuer`, written in every form into `dir`. */
export async function makeLeaf(dir: string, issuer: CaPaths, root: CaPaths, opts: LeafOptions): Promise<LeafPaths> {
  await mkdir(dir, { recursive: true });
  const host = opts.host ?? 'mx.example.com';
  const p = (f: string): string => join(dir, f);
  const kind = opts.kind;
  const key = p('privkey.pem');
  if (opts.key) await writeFile(key, await readFile(opts.key));
  else await openssl(['genpkey', ...GENPKEY[kind], '-out', key]);
  await openssl(['req', '-new', '-key', key, '-subj', `/CN=${host}`, '-out', p('csr.pem')]);
  await writeFile(p('leaf.ext'), `subjectAltName=DNS:${host}\nbasicConstraints=CA:FALSE\n`);
  await openssl(['x509', '-req', '-in', p('csr.pem'), '-CA', issuer.cert, '-CAkey', issuer.key, '-set_serial', nextSerial(), '-days', String(opts.days ?? 30), '-extfile', p('leaf.ext'), '-out', p('cert.pem')]);
  const [certPem, issuerPem, rootPem, keyPem] = await Promise.all([p('cert.pem'), issuer.cert, root.cert, key].map((f) => readFile(f, 'latin1')));
  const leaf: LeafPaths = {
    kind, dir, host,
    cert: p('cert.pem'), certDer: p('cert.der'), certCrlf: p('cert-crlf.pem'), certText: p('cert-text.pem'),
    chain: p('chain.pem'), fullchain: p('fullchain.pem'), fullchainWithRoot: p('fullchain-root.pem'), combined: p('combined.pem'),
    key, keyDer: p('privkey.der'), pub: p('pubkey.pem'), pubDer: p('pubkey.der'), csr: p('csr.pem'), csrDer: p('csr.der'),
  };
  await Promise.all([
    writeFile(leaf.certDer, await openssl(['x509', '-in', leaf.cert, '-outform', 'der'])),
    writeFile(leaf.certCrlf, certPem.replace(/\n/g, '\r\n')),
    writeFile(leaf.certText, await openssl(['x509', '-in', leaf.cert, '-text'])),
    writeFile(leaf.chain, issuerPem),
    writeFile(leaf.fullchain, certPem + issuerPem),
    writeFile(leaf.fullchainWithRoot, certPem + issuerPem + rootPem),
    writeFile(leaf.combined, certPem + issuerPem + keyPem),
    writeFile(leaf.keyDer, await openssl(['pkey', '-in', key, '-outform', 'der'])),
    writeFile(leaf.pub, await openssl(['pkey', '-in', key, '-pubout'])),
    writeFile(leaf.pubDer, await openssl(['pkey', '-in', key, '-pubout', '-outform', 'der'])),
    writeFile(leaf.csrDer, await openssl(['req', '-in', leaf.csr, '-outform', 'der'])),
  ]);
  if (kind === 'rsa') {
    leaf.keyTraditional = p('privkey-pkcs1.pem');
    leaf.pubRsa = p('pubkey-pkcs1.pem');
    await writeFile(leaf.keyTraditional, await openssl(['rsa', '-in', key, '-traditional']));
    await writeFile(leaf.pubRsa, await openssl(['rsa', '-in', key, '-RSAPublicKey_out']));
  }
  const curve = CURVE_NAME[kind];
  if (curve) {
    leaf.keyTraditional = p('privkey-sec1.pem');
    leaf.keyWithParams = p('privkey-sec1-params.pem');
    const sec1 = await openssl(['ec', '-in', key]);
    await writeFile(leaf.keyTraditional, sec1);
    await writeFile(leaf.keyWithParams, Buffer.concat([await openssl(['ecparam', '-name', curve]), sec1]));
  }
  return leaf;
}

/** Root, intermediate and one leaf per key kind (all kinds unless `kinds` is given), under `dir`. */
export async function makePki(dir: string, opts: { kinds?: readonly KeyKind[]; host?: string } = {}): Promise<Pki> {
  await mkdir(dir, { recursive: true });
  const root = await caCert(dir, 'root', undefined);
  const intermediate = await caCert(dir, 'intermediate', root);
  const kinds = opts.kinds ?? KEY_KINDS;
  const made = await Promise.all(kinds.map((kind) => makeLeaf(join(dir, kind), intermediate, root, { kind, host: opts.host })));
  return { dir, root, intermediate, leaves: Object.fromEntries(made.map((l) => [l.kind, l])) as Record<KeyKind, LeafPaths> };
}

/**
 * A renewal of `leaf` into `dir`: a new key by default, the same key with `reuseKey`, and from
 * another issuer with `issuer` (see makeIntermediate).
 */
export function renewLeaf(pki: Pki, leaf: LeafPaths, dir: string, opts: { reuseKey?: boolean; issuer?: CaPaths } = {}): Promise<LeafPaths> {
  return makeLeaf(dir, opts.issuer ?? pki.intermediate, pki.root, { kind: leaf.kind, host: leaf.host, key: opts.reuseKey ? leaf.key : undefined });
}

/** SHA-256 of the SubjectPublicKeyInfo of a certificate (or, with isKey, a private key) file, by the openssl pipeline. */
export async function spkiHash(file: string, isKey = false): Promise<string> {
  const pub = isKey ? await openssl(['pkey', '-in', file, '-pubout']) : await openssl(['x509', '-in', file, '-noout', '-pubkey']);
  const der = await openssl(['pkey', '-pubin', '-outform', 'der'], pub);
  return (await openssl(['dgst', '-sha256', '-r'], der)).toString().split(' ')[0]!;
}
