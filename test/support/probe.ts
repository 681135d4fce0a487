// A DANE client running beside a rollover: every ~200 ms it asks a validating resolver for the TLSA
// RRset (dig; the answer must carry AD) and verifies the served chain against exactly those
// records with `openssl s_client -dane_tlsa_rrdata ... -verify_return_error`, as a DANE SMTP client
// would. Every check is kept with its time; a failure is never retried away.
import { X509Certificate, createHash } from 'node:crypto';
import { execa } from 'execa';
import { requireTool } from './tools.js';

export interface ProbeOptions {
  /** Validating resolver on 127.0.0.1. */
  resolverPort: number;
  /** TLSA owner name, e.g. _25._tcp.mx.example.test */
  tlsaName: string;
  /** The DANE base domain (and SNI): the host of the TLSA name. */
  host: string;
  /** TLS server on 127.0.0.1. */
  port: number;
  /** Pause between the start of two checks (default 200 ms). */
  intervalMs?: number;
  /**
   * Only the records of these usages (e.g. ['3']: a DANE-EE-only client, as raw-public-key and
   * many SMTP clients are): RFC 7671 §8 says each combination on its own must carry the chain.
   */
  usages?: string[];
  /**
   * Extra s_client arguments, e.g. ['-sigalgs', 'ECDSA+SHA256']: a client that can only verify
   * one key type, which a server with an RSA and an ECDSA certificate answers with that one.
   */
  clientArgs?: string[];
}

export type CheckKind = 'ok' | 'dns' | 'connect' | 'dane';

export interface ProbeCheck {
  /** When the DNS question was asked (ms since epoch). */
  at: number;
  /** When the handshake was over (ms), if one was tried. */
  doneAt?: number;
  kind: CheckKind;
  /** TLSA records as the resolver returned them: "3 1 1 hex", lower case. */
  records: string[];
  /** SHA-256 of the served leaf's SubjectPublicKeyInfo (hex), when a handshake happened. */
  servedSpki?: string;
  /** The served leaf's notAfter (ms): DANE-EE matches ignore expiry (RFC 7671 §5.1), so tests check it themselves. */
  servedNotAfter?: number;
  /** openssl's "DANE TLSA ... matched ..." line. */
  matched?: string;
  detail?: string;
  /**
   * A DNS failure's answer as the resolver gave it (header, flags, every record line, RRSIGs
   * cut short): a NODATA's NSEC bitmap or an NXDOMAIN's covering NSEC says where it came from.
   */
  answer?: string;
}

export interface Probe {
  readonly checks: readonly ProbeCheck[];
  failures(): ProbeCheck[];
  /** Resolves with the first check (from now on) that satisfies `pred`; rejects after timeoutMs. */
  waitFor(pred: (c: ProbeCheck) => boolean, timeoutMs?: number, what?: string): Promise<ProbeCheck>;
  /** Stops after the check under way; returns every check. */
  stop(): Promise<ProbeCheck[]>;
}

export interface DnsAnswer {
  status: string;
  ad: boolean;
  records: string[];
  /** dig's header, flags and record lines (see ProbeCheck.answer). */
  answer: string;
}

/** Asks the resolver with dig (+dnssec) and reads status, the AD flag and the TLSA records. */
export async function resolveTlsa(port: number, name: string): Promise<DnsAnswer> {
  const r = await execa(requireTool('dig'), ['@127.0.0.1', '-p', String(port), '+dnssec', '+split=0', '+time=2', '+tries=1', 'TLSA', name], {
    reject: false,
    timeout: 10_000,
  });
  const out = String(r.stdout);
  const status = /status: ([A-Z]+)/.exec(out)?.[1] ?? `no answer (dig exit ${r.exitCode})`;
  const flags = /;; flags:([^;]*);/.exec(out)?.[1] ?? '';
  const records = out
    .split('\n')
    .filter((l) => !l.startsWith(';'))
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w[3] === 'TLSA' && w.length >= 8)
    .map((w) => `${w[4]} ${w[5]} ${w[6]} ${w.slice(7).join('').toLowerCase()}`)
    .sort();
  const answer = out
    .split('\n')
    .filter((l) => /^;; (->>HEADER|flags:)|^[^;\s]/.test(l))
    .map((l) => (/\sRRSIG\s/.test(l) ? `${l.slice(0, 60)}...` : l))
    .join('\n');
  return { status, ad: flags.split(/\s+/).includes('ad'), records, answer };
}

/** SHA-256 over the DER SubjectPublicKeyInfo of the first certificate in `pem` (node's crypto, not ours). */
export function spkiSha256(pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('hex');
}

export interface DaneResult {
  kind: 'ok' | 'connect' | 'dane';
  servedSpki?: string;
  servedNotAfter?: number;
  matched?: string;
  detail?: string;
}

/** One DANE handshake: the chain served at 127.0.0.1:port verified against `records` only. */
export async function verifyDane(port: number, host: string, records: string[], starttls?: 'smtp', clientArgs: string[] = []): Promise<DaneResult> {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, ...(starttls ? ['-starttls', starttls] : []), ...clientArgs, '-servername', host, '-showcerts', '-dane_tlsa_domain', host];
  for (const rr of records) args.push('-dane_tlsa_rrdata', rr);
  // RFC 7672: no name checks for DANE-EE(3); DANE-TA(2) still checks the name (the SAN is the host).
  args.push('-dane_ee_no_namechecks', '-verify_return_error');
  const r = await execa(requireTool('openssl'), args, { input: '', reject: false, timeout: 10_000, all: true });
  const out = String(r.all ?? '');
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out)?.[0];
  let servedSpki: string | undefined;
  let servedNotAfter: number | undefined;
  try {
    servedSpki = pem ? spkiSha256(pem) : undefined;
    servedNotAfter = pem ? Date.parse(new X509Certificate(pem).validTo) : undefined;
  } catch {
    servedSpki = undefined;
  }
  const matched = /DANE TLSA [^\n]*matched[^\n]*/.exec(out)?.[0];
  if (r.exitCode === 0 && /Verification: OK|Verify return code: 0 \(ok\)/.test(out)) return { kind: 'ok', servedSpki, servedNotAfter, matched };
  const lastLines = out.split('\n').filter((l) => /error|errno|verify|refused|Verification/i.test(l)).slice(0, 4).join(' | ');
  const kind = pem === undefined && /connect|refused|errno|reset/i.test(out) ? 'connect' : 'dane';
  return { kind, servedSpki, servedNotAfter, matched, detail: `s_client exit ${r.exitCode}: ${lastLines || out.slice(-300)}` };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function checkOnce(o: ProbeOptions): Promise<ProbeCheck> {
  const at = Date.now();
  const dns = await resolveTlsa(o.resolverPort, o.tlsaName);
  if (dns.status !== 'NOERROR' || !dns.ad || dns.records.length === 0) {
    return { at, kind: 'dns', records: dns.records, detail: `status ${dns.status}, ad ${dns.ad}, ${dns.records.length} TLSA record(s)`, answer: dns.answer };
  }
  const usable = o.usages ? dns.records.filter((r) => o.usages!.includes(r.split(' ')[0]!)) : dns.records;
  if (usable.length === 0) return { at, kind: 'dns', records: dns.records, detail: `no TLSA record of usage ${o.usages!.join('/')} among ${dns.records.length}` };
  const tls = await verifyDane(o.port, o.host, usable, undefined, o.clientArgs);
  return { at, doneAt: Date.now(), records: usable, ...tls };
}

export function startProbe(o: ProbeOptions): Probe {
  const checks: ProbeCheck[] = [];
  const waiters: { pred: (c: ProbeCheck) => boolean; resolve: (c: ProbeCheck) => void }[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      let c: ProbeCheck;
      try {
        c = await checkOnce(o);
      } catch (e) {
        c = { at: started, kind: 'dns', records: [], detail: `probe error: ${(e as Error).message}` };
      }
      checks.push(c);
      for (const w of [...waiters]) {
        if (w.pred(c)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(c);
        }
      }
      await sleep(Math.max(0, (o.intervalMs ?? 200) - (Date.now() - started)));
    }
  })();
  return {
    checks,
    failures: () => checks.filter((c) => c.kind !== 'ok'),
    waitFor(pred, timeoutMs = 15_000, what = 'a probe check') {
      return new Promise((resolve, reject) => {
        const w = { pred, resolve: (c: ProbeCheck) => (clearTimeout(t), resolve(c)) };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`probe: no check within ${timeoutMs} ms showed ${what}; last: ${JSON.stringify(checks.at(-1))}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    async stop() {
      running = false;
      await loop;
      return checks;
    },
  };
}

/** One line per failure, for assertion messages. */
export function describeFailures(checks: readonly ProbeCheck[]): string {
  const bad = checks.filter((c) => c.kind !== 'ok');
  const lines = bad
    .slice(0, 10)
    .map((c) => `${new Date(c.at).toISOString()} ${c.kind}: ${c.detail ?? ''} records=[${c.records.map((r) => r.slice(0, 16)).join(', ')}] served=${c.servedSpki?.slice(0, 16)}`);
  // The first DNS failure's whole answer: a rare one cannot be asked again.
  const dns = bad.find((c) => c.answer !== undefined);
  return dns ? [...lines, `first DNS failure, the resolver's answer:`, dns.answer].join('\n') : lines.join('\n');
}
