// Completing a service: defaults, required fields, and rules that look at several fields at once.
import { dirname, join, resolve } from 'node:path';
import { parseOwner } from '../tlsa/name.js';
import { paramsText, parseParams, type TlsaParams } from '../tlsa/record.js';
import { backendRow, impliedBackend, unmetNeeds } from '../dns/backends.js';
import { fail, warn, type Ctx } from './context.js';
import { dnsKeyOf, FLAG_OF } from './flags.js';
import type { DnsFields, ServiceFields } from './fields.js';
import { DEFAULT_TTL, type DnsSettings, type LineageSettings, type ServiceSettings } from './types.js';

export const DEFAULT_RECORDS: readonly TlsaParams[] = [parseParams('3 1 1'), parseParams('2 1 1')];

export interface Defaults {
  ttl?: number;
  records?: TlsaParams[];
  extraCaFiles?: string[];
}

/** The id a service gets when none is configured: the host of its first TLSA name. */
export function deriveId(tlsaNames: readonly string[] | undefined): string | undefined {
  const owner = tlsaNames?.[0] === undefined ? undefined : parseOwner(tlsaNames[0]);
  return owner?.host.replace(/\.$/, '').replace(/[^a-z0-9._-]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 64) || undefined;
}

/** The named backend, else the one its settings imply, else emit (print the plan for a person to apply). */
export function completeDns(d: DnsFields): DnsSettings {
  const backend = d.backend ?? impliedBackend(d) ?? 'emit';
  const dns: DnsSettings = { backend, authServers: d.authServers ?? [], emitFormat: d.emitFormat ?? 'nsupdate' };
  if (d.server) dns.server = d.server;
  if (d.tsigKeyFile) dns.tsigKeyFile = d.tsigKeyFile;
  if (d.zone) dns.zone = d.zone;
  if (d.command) dns.command = d.command;
  if (d.apiUrl) dns.apiUrl = d.apiUrl;
  if (d.apiKeyFile) dns.apiKeyFile = d.apiKeyFile;
  return dns;
}

/** `path` is where the service was written (services[0], or '' for flags); undefined when an error was recorded. */
export function completeService(ctx: Ctx, path: string, f: ServiceFields, d: DnsFields, defaults: Defaults): ServiceSettings | undefined {
  const where = (key: string) => (path === '' ? key : `${path}.${key}`);
  const errorsBefore = ctx.errors.length;
  if (f.tlsaNames === undefined) {
    if (f.given.includes('tlsaNames')) return undefined;
    return fail(ctx, where('tlsaNames'), 'is missing: give the TLSA owner names to keep, e.g. ["_25._tcp.mx.example.com"]');
  }
  const dns = completeDns(d);
  const service: ServiceSettings = {
    id: f.id ?? deriveId(f.tlsaNames) ?? '',
    tlsaNames: f.tlsaNames,
    records: f.records ?? defaults.records ?? [...DEFAULT_RECORDS],
    ttl: f.ttl ?? defaults.ttl ?? DEFAULT_TTL,
    dns,
    extraCaFiles: f.extraCaFiles ?? defaults.extraCaFiles ?? [],
    source: f.source,
  };
  for (const k of ['activateDir', 'reload', 'nextKeyFile', 'connect', 'starttls'] as const) {
    if (f[k] !== undefined) (service as unknown as Record<string, unknown>)[k] = f[k];
  }
  if (service.id === '') fail(ctx, where('id'), 'cannot be derived from the TLSA names: give one');
  if (dns.zone !== undefined) {
    service.tlsaNames.forEach((n, i) => {
      if (n !== dns.zone && !n.endsWith(`.${dns.zone}`)) fail(ctx, where(`tlsaNames[${i}]`), `"${n}" is not in zone ${dns.zone}`);
    });
  }
  if (f.lineages) completeLineages(ctx, where, f, service);
  const src = f.source;
  if (src.lineage === undefined && (src.cert !== undefined || src.fullchain !== undefined) !== (src.key !== undefined)) {
    fail(ctx, where(src.key === undefined ? 'key' : 'cert'), `is missing: ${src.key === undefined ? 'a certificate needs its key' : 'a key needs its cert or fullchain'}`);
  }
  const row = backendRow(dns.backend);
  for (const need of unmetNeeds(row, dns, false)) {
    const key = dnsKeyOf(need.key);
    fail(ctx, where(`dns.${key}`), `is missing: ${need.why} (flag ${FLAG_OF[key]})`);
  }
  for (const need of row.advises.filter((n) => dns[n.key] === undefined)) warn(ctx, where(`dns.${dnsKeyOf(need.key)}`), `is not set: ${need.why}`);
  for (const p of service.records) {
    if (p.usage === 3 && p.selector === 0) {
      warn(ctx, where('records'), `"${paramsText(p)}" pins the whole certificate, which changes at every renewal: "3 1 1" pins the key`);
    }
    if (p.selector === 0 && service.nextKeyFile !== undefined && p.usage !== 2 && p.usage !== 0) {
      warn(ctx, where('records'), `"${paramsText(p)}" cannot be published ahead for the next key (a key alone has no certificate)`);
    }
  }
  return ctx.errors.length === errorsBefore ? service : undefined;
}

const SOURCE_FIELDS = ['lineage', 'cert', 'chain', 'fullchain', 'key'] as const;

/**
 * A service with `lineages`: one source per key type, no top-level source or next key, and each
 * lineage staged in its own folder (default activateDir/<keyType>) when the service is staged.
 */
function completeLineages(ctx: Ctx, where: (key: string) => string, f: ServiceFields, service: ServiceSettings): void {
  const top = SOURCE_FIELDS.find((k) => f.source[k] !== undefined);
  if (top) fail(ctx, where(top), `cannot be given beside "lineages": name each certificate in its lineage entry`);
  if (f.nextKeyFile !== undefined) fail(ctx, where('nextKey'), 'cannot be used with "lineages" (a next key belongs to one key type): use staged mode (activateDir)');
  const lineages: LineageSettings[] = [];
  const files = new Map<string, string>();
  f.lineages!.forEach((l, i) => {
    const at = where(`lineages[${i}]`);
    const dup = lineages.findIndex((o) => o.keyType === l.keyType);
    if (dup >= 0) return void fail(ctx, `${at}.keyType`, `"${l.keyType}" is also the key type of lineages[${dup}]: give one source per key type`);
    const src = l.source;
    if (src.lineage === undefined && src.cert === undefined && src.fullchain === undefined) return void fail(ctx, at, 'names no certificate: give "lineage" (a certbot live dir) or "cert"/"fullchain" and "key"');
    if (src.lineage === undefined && src.key === undefined) return void fail(ctx, `${at}.key`, 'is missing: a certificate needs its key');
    for (const k of SOURCE_FIELDS) {
      const file = src[k];
      if (file === undefined) continue;
      const other = files.get(resolve(file));
      if (other !== undefined) fail(ctx, `${at}.${k}`, `${file} is also named by ${other}: each lineage needs its own files`);
      else files.set(resolve(file), `lineages[${i}].${k}`);
    }
    if (l.activateDir !== undefined && service.activateDir === undefined && f.lineages!.some((o) => o.activateDir === undefined)) {
      fail(ctx, `${at}.activateDir`, 'is set but another lineage has none and the service has no activateDir: stage every lineage or none');
    }
    const activateDir = l.activateDir ?? (service.activateDir === undefined ? undefined : join(service.activateDir, l.keyType));
    lineages.push(activateDir === undefined ? { keyType: l.keyType, source: src } : { keyType: l.keyType, source: src, activateDir });
  });
  service.lineages = lineages;
}

/** Errors for services that share an id (their state would collide). */
export function checkUniqueIds(ctx: Ctx, services: readonly { id: string; path: string }[]): void {
  const first = new Map<string, string>();
  for (const s of services) {
    const other = first.get(s.id);
    if (other === undefined) first.set(s.id, s.path);
    else fail(ctx, s.path, `has the same id "${s.id}" as ${other}: give one of them an explicit "id"`);
  }
}

/**
 * Errors for activate dirs that would collide: two services writing one folder (each would swap
 * the other's key in), or an activate dir in the state dir (or holding it), where pruning and
 * the chain copies live.
 */
export function checkActivateDirs(ctx: Ctx, services: readonly { activateDir?: string; path: string }[], stateDir: string): void {
  // Looked up by path and by each parent folder, not compared pairwise: 10,000 services stay fast.
  const dirs = new Map<string, string>(); // a seen activate dir -> its service's path
  const holders = new Map<string, string>(); // a seen dir or any folder above it -> that service
  // Each path resolved once: inside the state dir when the state dir is one of its folders, around
  // it when it is one of the state dir's.
  const state = resolve(stateDir);
  const aroundState = new Set(folderAndParents(state));
  for (const s of services) {
    if (s.activateDir === undefined) continue;
    const at = s.path === '' ? 'activateDir' : `${s.path}.activateDir`;
    const dir = resolve(s.activateDir);
    const up = folderAndParents(dir);
    const inside = up.includes(state);
    if (inside || aroundState.has(dir)) {
      fail(ctx, at, `${s.activateDir} is ${inside ? 'inside' : 'around'} the state dir ${stateDir}: give the services a folder of their own outside it`);
    }
    const other = up.map((d) => dirs.get(d)).find((p) => p !== undefined) ?? holders.get(dir);
    if (other !== undefined) fail(ctx, at, `${s.activateDir} is also (or holds) the activate dir of ${other || 'the service given by flags'}: each service needs its own`);
    if (!dirs.has(dir)) dirs.set(dir, s.path);
    for (const d of up) if (!holders.has(d)) holders.set(d, s.path);
  }
}

/** `/a/b/c` -> [`/a/b/c`, `/a/b`, `/a`, `/`] */
function folderAndParents(dir: string): string[] {
  const out = [dir];
  for (let d = dirname(dir); d !== out[out.length - 1]; d = dirname(d)) out.push(d);
  return out;
}
