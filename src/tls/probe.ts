// The chain a live service presents: connect, speak STARTTLS where the protocol needs it, shake
// hands without judging the certificate (DANE judges it, not the Web PKI), and read the peer chain.
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, createSecureContext, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import { negotiate, StartTlsError, type StartTls } from './starttls.js';

export interface ProbeOptions {
  /** For the whole probe: connect, dialogue and handshake (default 10000). */
  timeoutMs?: number;
  /** SNI name (default: the host of `connect` when it is a name). */
  servername?: string;
  /**
   * Ask for the certificate of this key type only (offered signature algorithms restricted): an
   * endpoint with an RSA and an ECDSA certificate (s_server -cert/-dcert, Postfix
   * smtpd_tls_chain_files) answers each client with the one it can verify.
   */
  keyType?: KeyType;
  /** Keep trying this long while the connection is refused (a service still starting after a reload). */
  refusedRetryMs?: number;
}

/** Key types as node:crypto names them (KeyObject.asymmetricKeyType). */
export type KeyType = 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'ed448';

const RSA_SIGALGS = 'rsa_pss_rsae_sha256:rsa_pss_rsae_sha384:rsa_pss_rsae_sha512:rsa_pss_pss_sha256:rsa_pss_pss_sha384:rsa_pss_pss_sha512:rsa_pkcs1_sha256:rsa_pkcs1_sha384:rsa_pkcs1_sha512';
const SIGALGS: Record<KeyType, string> = {
  rsa: RSA_SIGALGS,
  'rsa-pss': RSA_SIGALGS,
  ec: 'ecdsa_secp256r1_sha256:ecdsa_secp384r1_sha384:ecdsa_secp521r1_sha512',
  ed25519: 'ed25519',
  ed448: 'ed448',
};
export const KEY_TYPES = Object.keys(SIGALGS) as KeyType[];

/** Connecting or the handshake failed: the message names the endpoint and the reason. */
export class ProbeError extends Error {
  constructor(
    message: string,
    readonly stage: 'connect' | 'starttls' | 'tls' | 'timeout',
  ) {
    super(message);
    this.name = 'ProbeError';
  }
}

/**
 * A trust store holding one self-signed certificate nobody uses. Node completes the peer chain
 * with the issuer it finds in the context's store; with the default store a root the server does
 * not send would show up as "presented", and a 2 x x record for it would seem to match (RFC 7672
 * 3.1.2: it must be sent).
 */
const NO_TRUST_STORE = `-----BEGIN CERTIFICATE-----
MIIBrDCCAVGgAwIBAgIUc8DGBd0T8QtUx63PjN3c6ZtjcWYwCgYIKoZIzj0EAwIw
KjEoMCYGA1UEAwwfZGFuZS1ob29rIGNoZWNrOiBubyB0cnVzdCBzdG9yZTAgFw0y
NjExMjgxMDU0MThaGA8yMTI2MTEwNDEwNTQxOFowKjEoMCYGA1UEAwwfZGFuZS1o
b29rIGNoZWNrOiBubyB0cnVzdCBzdG9yZTBZMBMGByqGSM49AgEGCCqGSM49AwEH
A0IABLkePlRuO/U1Ae9MbM2nyjs3X3hPLHq9jeSApQnfQ+hBhSkPya4/qDN/mJgb
BYheO9FHU1mwn08kYutMWG2JpLKjUzBRMB0GA1UdDgQWBBQLtI6F6r5A08lZ7h13
l0Fmmye3rTAfBgNVHSMEGDAWgBQLtI6F6r5A08lZ7h13l0Fmmye3rTAPBgNVHRMB
Af8EBTADAQH/MAoGCCqGSM49BAMCA0kAMEYCIQDLB6kPD17PDx9MbaKHDn/2gBx5
QJhxkiVtgYo+7SsciwIhANEdFsZNd6a4rvHkR0b3qpB7lrpU17fdY1n68/oTvj+M
-----END CERTIFICATE-----
`;

/** HOST:PORT or [V6]:PORT. Throws a plain Error naming the value (the CLI checks it first). */
export function parseEndpoint(connect: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(connect) ?? /^([^:\s]+):(\d{1,5})$/.exec(connect);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port < 1 || port > 65535 || (m[0].startsWith('[') && isIP(m[1]!) !== 6)) {
    throw new Error(`endpoint '${connect}' is not HOST:PORT or [IPv6]:PORT`);
  }
  return { host: m[1]!, port };
}

/** DER certificates as the server presented them, leaf first. */
export async function presentedChain(connect: string, starttls: StartTls, opts: ProbeOptions = {}): Promise<Buffer[]> {
  const until = Date.now() + (opts.refusedRetryMs ?? 0);
  for (;;) {
    try {
      return await probeOnce(connect, starttls, opts);
    } catch (e) {
      const refused = e instanceof ProbeError && e.stage === 'connect' && /ECONNREFUSED/.test(e.message);
      if (!refused || Date.now() + 250 > until) throw e;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

async function probeOnce(connect: string, starttls: StartTls, opts: ProbeOptions): Promise<Buffer[]> {
  const { host, port } = parseEndpoint(connect);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const servername = opts.servername ?? (isIP(host) ? undefined : host.replace(/\.$/, ''));
  const sockets: Socket[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeError(`${connect}: no TLS handshake within ${timeoutMs} ms`, 'timeout')), timeoutMs);
  });
  try {
    const probing = probe(host, port, connect, starttls, servername, sockets, opts.keyType);
    probing.catch(() => undefined); // after a timeout its own failure is no news
    return await Promise.race([probing, timeout]);
  } finally {
    clearTimeout(timer);
    // The TLS socket first: destroying the TCP socket under a live TLSSocket crashed Node 20.20 at exit.
    for (const s of sockets.reverse()) s.destroy();
  }
}

async function probe(host: string, port: number, shown: string, starttls: StartTls, servername: string | undefined, sockets: Socket[], keyType?: KeyType): Promise<Buffer[]> {
  const plain = await new Promise<Socket>((resolve, reject) => {
    const s = tcpConnect({ host, port });
    sockets.push(s);
    s.once('connect', () => {
      s.removeAllListeners('error');
      resolve(s);
    });
    s.once('error', (e: NodeJS.ErrnoException) => reject(new ProbeError(`cannot connect to ${shown}: ${e.code ?? e.message}`, 'connect')));
  });
  try {
    await negotiate(plain, starttls, servername ?? host, port);
  } catch (e) {
    const why = e instanceof StartTlsError ? e.message : ((e as NodeJS.ErrnoException).code ?? (e as Error).message);
    throw new ProbeError(`${starttls.toUpperCase()} STARTTLS with ${shown} failed: ${why}`, 'starttls');
  }
  const tls = await new Promise<TLSSocket>((resolve, reject) => {
    const s = tlsConnect({
      socket: plain,
      servername,
      rejectUnauthorized: false,
      secureContext: createSecureContext({ ca: NO_TRUST_STORE, ...(keyType ? { sigalgs: SIGALGS[keyType] } : {}) }),
    });
    sockets.push(s);
    s.once('secureConnect', () => resolve(s));
    s.once('error', (e: NodeJS.ErrnoException) => reject(new ProbeError(`TLS handshake with ${shown} failed: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' '), 'tls')));
  });
  return chainOf(tls.getPeerCertificate(true));
}

/** Walks issuerCertificate from the leaf; a self-signed certificate points at itself. */
function chainOf(leaf: DetailedPeerCertificate): Buffer[] {
  const out: Buffer[] = [];
  const seen = new Set<string>();
  for (let c: DetailedPeerCertificate | undefined = leaf; c?.raw && !seen.has(c.fingerprint256); c = c.issuerCertificate) {
    seen.add(c.fingerprint256);
    out.push(Buffer.from(c.raw));
  }
  if (out.length === 0) throw new ProbeError('the server presented no certificate', 'tls');
  return out;
}
