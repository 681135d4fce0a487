// The I/O side of `dane-hook check` for one service: probe each endpoint, ask the validating
// resolver and every authoritative server, read the files on disk, and hand the facts to the
// pure evaluation. Failures become facts (a probe error, a server error), never exceptions.
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { ServiceSettings } from '../config/types.js';
import type { ServerAddress } from '../dns/types.js';
import { pinRecords } from '../tlsa/pins.js';
import { loadService, rolloverOf } from '../state/store.js';
import { loadChain } from '../tlsa/load.js';
import { parseOwner } from '../tlsa/name.js';
import type { TlsaRecord } from '../tlsa/record.js';
import { authoritativeView } from './authoritative.js';
import type { ChainReadinessLine, EndpointFacts, Files, Finding } from './evaluate.js';
import { comboReadiness, comboText } from '../rollover/readiness.js';
import type { ChainRef, RolloverState } from '../rollover/types.js';
import { KEY_TYPES, parseEndpoint, presentedChain, type KeyType } from '../tls/probe.js';
import { lookupTlsa } from './resolver.js';
import { defaultStartTls, type StartTls } from '../tls/starttls.js';

/** Bad input to check is UNKNOWN to a monitoring system: exit 3. */
export const CHECK_USAGE = 3;

export interface GatherOptions {
  resolver: ServerAddress;
  /** Overrides the service's connect setting for every name. */
  connect?: string;
  starttls?: StartTls;
  timeoutMs: number;
  /** Other services that share TLSA names with this one (e.g. an RSA and an ECDSA lineage). */
  peers?: ServiceSettings[];
}

export interface Endpoint {
  connect: string;
  starttls: StartTls;
  servername?: string;
}

/** Where to connect for a TLSA name: --connect, the service's setting, or the name's own host and port. */
export function endpointFor(name: string, settings: Pick<ServiceSettings, 'connect' | 'starttls'>, opts: Pick<GatherOptions, 'connect' | 'starttls'>): Endpoint {
  const owner = parseOwner(name);
  const given = opts.connect ?? settings.connect;
  if (!given && !owner) throw new UserError(`TLSA name ${name} does not name a port and host (_PORT._tcp.HOST): give --connect HOST:PORT`, { exitCode: CHECK_USAGE });
  const connect = given ?? `${owner!.host}:${owner!.port}`;
  let port: number;
  try {
    port = parseEndpoint(connect).port;
  } catch (e) {
    throw new UserError(`--connect ${(e as Error).message}`, { exitCode: CHECK_USAGE });
  }
  return { connect, starttls: opts.starttls ?? settings.starttls ?? defaultStartTls(port), servername: owner?.host };
}

/** The chain the service should be presenting: the activate dir, the ACME client's files, or the state's copy. */
export function filesOnDisk(stateDir: string, settings: ServiceSettings): Files | undefined {
  const s = settings.source;
  const pick = (dir: string) => (existsSync(join(dir, 'fullchain.pem')) ? join(dir, 'fullchain.pem') : join(dir, 'cert.pem'));
  let path: string | undefined;
  let chain: string | undefined;
  if (settings.activateDir) path = pick(settings.activateDir);
  else if (s.fullchain) path = s.fullchain;
  else if (s.cert) [path, chain] = [s.cert, s.chain];
  else if (s.lineage) path = pick(s.lineage);
  else {
    const file = loadService(stateDir, settings.id);
    const r = rolloverOf(file, settings);
    const inService = r?.inService && file!.chains[r.inService.id];
    if (inService) path = join(inService.dir, 'fullchain.pem');
  }
  if (!path) return undefined;
  try {
    let certs = loadChain(path);
    if (chain && certs.length === 1) certs = [...certs, ...loadChain(chain)];
    return { source: path, certs };
  } catch (e) {
    return { source: path, error: (e as Error).message };
  }
}

/** The rollover's chains that are not in service (yet, or any more), with the role they play. */
function chainsInPlay(state: RolloverState): { role: string; chain: ChainRef }[] {
  return [
    ...(state.waiting ?? []).map((chain) => ({ role: 'waiting chain', chain })),
    ...(state.pending ? [{ role: 'pending chain', chain: state.pending }] : []),
    ...(state.next ? [{ role: 'next key', chain: state.next }] : []),
    ...(state.retiring ? [{ role: 'retiring chain', chain: state.retiring }] : []),
  ];
}

/**
 * Readiness per (usage, selector, matching) combination of each chain the rollover holds, as the
 * rollover itself counts it (RFC 7671 §8: a chain goes live only when each combination is ready).
 */
export function rolloverReadiness(stateDir: string, settings: ServiceSettings, now: number): ChainReadinessLine[] {
  const state = rolloverOf(loadService(stateDir, settings.id), settings);
  if (!state) return [];
  const roles = [...(state.inService ? [{ role: 'chain in service', chain: state.inService }] : []), ...chainsInPlay(state)];
  return roles.map(({ role, chain }) => ({ role, id: chain.id, readiness: comboText(comboReadiness(state, settings.tlsaNames, chain, now, settings.records), settings.tlsaNames) }));
}

/** Records for chains not in service yet, so that they are not called stale. */
function expectedRecords(stateDir: string, settings: ServiceSettings): EndpointFacts['expected'] {
  const file = loadService(stateDir, settings.id);
  const out: EndpointFacts['expected'] = [];
  const state = rolloverOf(file, settings);
  if (state) for (const { role, chain } of chainsInPlay(state)) out.push({ role, records: chain.records });
  let pins: TlsaRecord[] = [];
  try {
    pins = pinRecords(settings.extraCaFiles, settings.records);
  } catch {
    // An unreadable extra CA file is the deploy's problem; here it only means no pins are known.
  }
  if (pins.length > 0) out.push({ role: 'extra CA', records: pins });
  return out;
}

/** The system's trust store for usages 0/1 (Debian's bundle, else the one Node ships). */
function systemTrustStore(path = '/etc/ssl/certs/ca-certificates.crt'): Buffer[] {
  try {
    return loadChain(path);
  } catch {
    return rootCertificates.map((pem) => new X509Certificate(pem).raw);
  }
}

/**
 * The key type of the service's own certificate: an endpoint serving RSA and ECDSA certificates
 * is asked for the one of this service (another service on the name judges the other).
 */
function keyTypeOf(files: Files | undefined): KeyType | undefined {
  if (!files || !('certs' in files) || files.certs.length === 0) return undefined;
  const type = new X509Certificate(files.certs[0]!).publicKey.asymmetricKeyType;
  return KEY_TYPES.includes(type as KeyType) ? (type as KeyType) : undefined;
}

/** RFC 7672 (DANE for SMTP) applies: the mail ports, or SMTP STARTTLS anywhere. */
const isSmtp = (port: number | undefined, starttls: StartTls) => starttls === 'smtp' || port === 25 || port === 465 || port === 587;

export async function gatherService(stateDir: string, settings: ServiceSettings, opts: GatherOptions): Promise<{ facts: EndpointFacts[]; findings: Finding[] }> {
  const endpoints = settings.tlsaNames.map((name) => ({ name, ...endpointFor(name, settings, opts) }));
  const files = filesOnDisk(stateDir, settings);
  const own = expectedRecords(stateDir, settings);
  // A record of a service sharing the name is that service's, not stale (judged there).
  const peers = (opts.peers ?? []).map((p) => ({ p, files: filesOnDisk(stateDir, p), expected: expectedRecords(stateDir, p) }));
  const peersAt = (name: string) => peers.filter(({ p }) => p.tlsaNames.includes(name));
  const auth = await authoritativeView(settings);
  let trustStore: Buffer[] | undefined;
  const facts = await Promise.all(
    endpoints.map(async (e): Promise<EndpointFacts> => {
      const [presented, resolver, answers] = await Promise.all([
        presentedChain(e.connect, e.starttls, { timeoutMs: opts.timeoutMs, servername: e.servername, keyType: keyTypeOf(files) }).then(
          (certs) => ({ certs }),
          (err: Error) => ({ error: err.message }),
        ),
        lookupTlsa(e.name, opts.resolver, { timeoutMs: Math.min(opts.timeoutMs, 3000) }),
        auth.answersOf(e.name),
      ]);
      const port = parseOwner(e.name)?.port ?? parseEndpoint(e.connect).port;
      const smtp = isSmtp(port, e.starttls);
      // Read only when a PKIX usage (0/1) is there to judge.
      if (!smtp && [...resolver.records, ...answers.flatMap((a) => a.records)].some((r) => r.usage <= 1)) trustStore ??= systemTrustStore();
      const shared = peersAt(e.name);
      const expected = [...own, ...shared.flatMap(({ p, expected: x }) => x.map((r) => ({ ...r, role: `${r.role} of service ${p.id}` })))];
      const others = shared.flatMap(({ p, files: f }) => (f && 'certs' in f ? [{ role: `chain of service ${p.id}`, certs: f.certs }] : []));
      return { name: e.name, connect: e.connect, presented, resolver, auth: answers, zoneSigned: auth.zoneSigned, files, expected, others, host: e.servername, smtp, trustStore: smtp ? undefined : trustStore };
    }),
  );
  return { facts, findings: auth.findings };
}
