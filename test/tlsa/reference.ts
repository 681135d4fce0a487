// Independent answers from openssl, coreutils and ldns-dane, to check ours against.
import { execa } from 'execa';
import { openssl } from '../support/pki.js';
import { requireTool } from '../support/tools.js';

/** The OpenSSL reference pipeline for selector 1: x509 -pubkey | pkey -pubin -outform der. */
export async function opensslSpki(certPath: string): Promise<Buffer> {
  const pem = await openssl(['x509', '-in', certPath, '-noout', '-pubkey']);
  return openssl(['pkey', '-pubin', '-outform', 'der'], pem);
}

/** Selector 0: the certificate as DER, by openssl. */
export const opensslCertDer = (certPath: string): Promise<Buffer> => openssl(['x509', '-in', certPath, '-outform', 'der']);

/** Matching 0: hex; 1: sha256sum; 2: openssl dgst -sha512. */
export async function referenceAssociation(bytes: Buffer, matching: 0 | 1 | 2): Promise<string> {
  if (matching === 0) return bytes.toString('hex');
  if (matching === 1) {
    const r = await execa(requireTool('sha256sum'), [], { input: bytes });
    return r.stdout.split(/\s/)[0]!;
  }
  const out = (await openssl(['dgst', '-sha512', '-r'], bytes)).toString();
  return out.split(/\s/)[0]!;
}

/**
 * `ldns-dane -n -s -c FILE create HOST PORT U S M [-o N]`: its zone line split into fields.
 * -s skips PKIX validation (usages 0/1 want a CA file otherwise); -o picks a CA cert from the end.
 */
export async function ldnsDaneCreate(file: string, host: string, port: number, usage: number, selector: number, matching: number, offset?: number): Promise<{ name: string; ttl: string; rdata: string }> {
  const args = ['-n', '-s', ...(offset === undefined ? [] : ['-o', String(offset)]), '-c', file, 'create', host, String(port), String(usage), String(selector), String(matching)];
  const r = await execa(requireTool('ldns-dane'), args);
  const lines = r.stdout.trim().split('\n');
  if (lines.length !== 1) throw new Error(`ldns-dane printed ${lines.length} lines: ${r.stdout}`);
  const [name, ttl, cls, type, ...rdata] = lines[0]!.split(/\s+/);
  if (cls !== 'IN' || type !== 'TLSA') throw new Error(`unexpected ldns-dane output: ${lines[0]}`);
  return { name: name!, ttl: ttl!, rdata: rdata.join(' ') };
}
