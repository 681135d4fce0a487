// The I/O side of `dane-hook check` for one service: probe each endpoint, ask the validating
// resolver and every authoritative server, read the files on disk, and hand the facts to the
// pure evaluation. Failures become facts (a probe error, a server error), never exceptions.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { ServiceSettings } from '../config/types.js';
import type { ServerAddress, ServerAnswer } from '../dns/types.js';
import { observeTlsa } from '../dns/observer.js';
import { dnsContext } from '../engine/dns-context.js';
import { pinRecords } from '../engine/chain.js';
import { loadService } from '../state/store.js';
import { loadChain } from '../tlsa/load.js';
import { parseOwner } from '../tlsa/name.js';
import type { TlsaRecord } from '../tlsa/record.js';
import type { EndpointFacts, Files, Finding } from './evaluate.js';
import { parseEndpoint, presentedChain } from '../tls/probe.js';
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
    const inService = file?.rollover.inService && file.chains[file.rollover.inService.id];
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

/** Records for chains not in service yet, so that they are not called stale. */
function expectedRecords(stateDir: string, settings: ServiceSettings): EndpointFacts['expected'] {
  const file = loadService(stateDir, settings.id);
  const out: EndpointFacts['expected'] = [];
  if (file?.rollover.pending) out.push({ role: 'pending chain', records: file.rollover.pending.records });
  if (file?.rollover.next) out.push({ role: 'next key', records: file.rollover.next.records });
  let pins: TlsaRecord[] = [];
  try {
    pins = pinRecords(settings);
  } catch {
    // An unreadable extra CA file is the deploy's problem; here it only means no pins are known.
  }
  if (pins.length > 0) out.push({ role: 'extra CA', records: pins });
  return out;
}

async function authAnswers(settings: ServiceSettings): Promise<{ answersOf: (name: string) => Promise<ServerAnswer[]>; zoneSigned?: boolean; findings: Finding[] }> {
  try {
    const ctx = await dnsContext(settings, { write: () => true });
    if (!ctx.verified) return { answersOf: async () => [], findings: [] };
    return { answersOf: async (name) => (await observeTlsa(name, ctx.authServers, { retries: 1 })).answers, zoneSigned: ctx.signed, findings: [] };
  } catch (e) {
    const finding: Finding = { severity: 'WARNING', code: 'auth-error', message: `cannot ask the authoritative servers: ${(e as Error).message}` };
    return { answersOf: async () => [], findings: [finding] };
  }
}

export async function gatherService(stateDir: string, settings: ServiceSettings, opts: GatherOptions): Promise<{ facts: EndpointFacts[]; findings: Finding[] }> {
  const endpoints = settings.tlsaNames.map((name) => ({ name, ...endpointFor(name, settings, opts) }));
  const files = filesOnDisk(stateDir, settings);
  const expected = expectedRecords(stateDir, settings);
  const auth = await authAnswers(settings);
  const facts = await Promise.all(
    endpoints.map(async (e): Promise<EndpointFacts> => {
      const [presented, resolver, answers] = await Promise.all([
        presentedChain(e.connect, e.starttls, { timeoutMs: opts.timeoutMs, servername: e.servername }).then(
          (certs) => ({ certs }),
          (err: Error) => ({ error: err.message }),
        ),
        lookupTlsa(e.name, opts.resolver, { timeoutMs: Math.min(opts.timeoutMs, 3000) }),
        auth.answersOf(e.name),
      ]);
      return { name: e.name, connect: e.connect, presented, resolver, auth: answers, zoneSigned: auth.zoneSigned, files, expected };
    }),
  );
  return { facts, findings: auth.findings };
}
