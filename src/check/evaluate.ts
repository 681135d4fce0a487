// The verdict of `dane-hook check`, pure: what the live endpoint presents, what a validating
// resolver and each authoritative server serve, and what the files on disk hold, in; findings
// with a monitoring-plugin severity out. No network, no files: the probes are in gather.ts.
import { X509Certificate, createHash } from 'node:crypto';
import type { ServerAnswer } from '../dns/types.js';
import { recordKey, recordText, type TlsaRecord } from '../tlsa/record.js';
import { largeRrsetWarning } from '../tlsa/rrset.js';
import { judgeRecord, type JudgeContext, type JudgeDefectCode, type Judgement } from './judge.js';
import { shortRecord } from './records.js';
import type { ExpiryFlags } from '../rollover/lifetime.js';
import { expiryFinding } from './expiry.js';
import type { ResolverAnswer } from './resolver.js';

export type Severity = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';

/** Monitoring-plugin exit codes (Nagios, Icinga, Sensu...). */
export const EXIT_OF: Record<Severity, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };

// CRITICAL wins; an UNKNOWN (something could not be checked) may hide a CRITICAL, so it ranks above WARNING.
const RANK: Record<Severity, number> = { OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3 };

export const worstOf = (list: Severity[]): Severity => list.reduce<Severity>((a, b) => (RANK[b] > RANK[a] ? b : a), 'OK');

export type FindingCode =
  | 'connect' // the endpoint could not be reached or gave no TLS
  | 'resolver' // the resolver could not be asked
  | 'servfail' // the resolver could not validate (bogus) or reach the zone
  | 'no-records' // no TLSA RRset at the name
  | 'unsigned' // the zone is not DNSSEC-signed
  | 'no-ad' // the resolver's answer was not validated
  | 'no-match' // the presented chain is matched by no record
  | 'stale' // records that match nothing known
  | 'auth-error' // an authoritative server failed
  | 'auth-disagree' // authoritative servers serve different RRsets
  | 'auth-unsigned' // an authoritative server serves the RRset without RRSIG
  | 'files' // the files on disk could not be read
  | 'files-differ' // the files on disk hold another chain than the one presented
  | 'files-unmatched' // the files on disk would not be matched after a reload
  | 'expired'
  | 'expires'
  | 'large-rrset' // more records at one name than some senders read
  | JudgeDefectCode; // a record with a named defect (see judge.ts and records.ts)

export interface Finding {
  severity: Exclude<Severity, 'OK'>;
  code: FindingCode;
  message: string;
}

export type Files = { source: string; certs: Buffer[] } | { source: string; error: string };

export interface EndpointFacts {
  /** TLSA owner name, absolute. */
  name: string;
  /** HOST:PORT that was probed. */
  connect: string;
  presented: { certs: Buffer[] } | { error: string };
  resolver?: ResolverAnswer;
  /** One answer per authoritative server; [] when none was asked. */
  auth: ServerAnswer[];
  /** undefined: not known. */
  zoneSigned?: boolean;
  files?: Files;
  /** Records the rollover wants at this name for chains not in service yet (pending, next key, pins). */
  expected: { role: string; records: TlsaRecord[] }[];
  /** Chains of other services that share this name (one per key type): their records are theirs. */
  others?: { role: string; certs: Buffer[] }[];
  /** The reference identifier for name checks: the TLSA base domain; undefined: none to check. */
  host?: string;
  /** SMTP (RFC 7672): usages 0/1 are unusable. */
  smtp?: boolean;
  /** Trust anchors (DER) for usages 0/1; undefined when not loaded. */
  trustStore?: Buffer[];
}

/** --warn-days/--crit-days as given; a missing one scales with each certificate's lifetime (expiry.ts). */
export type Thresholds = ExpiryFlags;

export interface CertSummary {
  subject: string;
  /** First 16 hex digits of the certificate's SHA-256: tells two certificates for one name apart. */
  sha256: string;
  notAfter: string;
  daysLeft: number;
  lifetimeDays: number;
}

export interface EndpointVerdict {
  name: string;
  connect: string;
  severity: Severity;
  /** Records (presentation form) of the validated RRset that match the presented chain. */
  matchedBy: string[];
  stale: string[];
  /** Records announced for a chain not in service yet, with its role. */
  announced: { record: string; role: string }[];
  /** The CNAME chain the resolver followed to the RRset (RFC 7671 7), when there was one. */
  via?: string[];
  leaf?: CertSummary;
  findings: Finding[];
}

const DAY_MS = 86_400_000;
const short = shortRecord;

export function certSummary(der: Buffer, now: number): CertSummary {
  const x = new X509Certificate(der);
  const cn = /(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1];
  const notAfter = new Date(x.validTo);
  const sha256 = createHash('sha256').update(der).digest('hex').slice(0, 16);
  const lifetimeDays = (notAfter.getTime() - new Date(x.validFrom).getTime()) / DAY_MS;
  return { subject: cn ?? x.subject.replace(/\n/g, ', '), sha256, notAfter: notAfter.toISOString(), daysLeft: (notAfter.getTime() - now) / DAY_MS, lifetimeDays };
}

/** The RRset to judge: the resolver's when it answered, else what the authoritative servers agree on. */
export function rrset(f: EndpointFacts): TlsaRecord[] {
  if (f.resolver && f.resolver.status !== 'error' && f.resolver.status !== 'servfail') return f.resolver.records;
  const seen = new Map<string, TlsaRecord>();
  for (const a of f.auth) for (const r of a.records) seen.set(recordKey(r), r);
  return [...seen.values()];
}

const judgeContext = (f: EndpointFacts, now: number): JudgeContext => ({ host: f.host, smtp: f.smtp ?? false, trustStore: f.trustStore, now });

/** A record a client would use for this chain: a full match, or one only some clients accept. */
const usableFor = (j: Judgement) => j.match !== 'no';

export function evaluateEndpoint(f: EndpointFacts, now: number, t: Thresholds): EndpointVerdict {
  const findings: Finding[] = [];
  const add = (severity: Finding['severity'], code: FindingCode, message: string) => findings.push({ severity, code, message });
  const certs = 'certs' in f.presented ? f.presented.certs : undefined;
  if (!certs) add('CRITICAL', 'connect', `no chain from ${f.connect}: ${(f.presented as { error: string }).error}`);

  findings.push(...dnssecFindings(f));
  const records = rrset(f);
  const ctx = judgeContext(f, now);
  const judged = new Map(records.map((r) => [r, judgeRecord(r, certs ?? [], ctx)]));
  const matchedBy = certs ? records.filter((r) => usableFor(judged.get(r)!)) : [];
  if (certs && records.length > 0 && matchedBy.length === 0) {
    const why = [...new Set(records.flatMap((r) => (judged.get(r)!.defect ? [`${short(r)} ${judged.get(r)!.defect!.text}`] : [])))];
    const usable = records.filter((r) => judged.get(r)!.defect?.code !== 'unusable').length;
    const what = usable === 0 ? `none of the ${records.length} records at ${f.name} is usable` : `the chain ${f.connect} presents (${certSummary(certs[0]!, now).subject}) is matched by none of the ${records.length} records at ${f.name}`;
    add('CRITICAL', 'no-match', `${what}: DANE clients refuse it${why.length > 0 ? ` (${why.slice(0, 2).join('; ')}${why.length > 2 ? '; ...' : ''})` : ''}`);
  }

  const fileCerts = f.files && 'certs' in f.files ? f.files.certs : undefined;
  const announced: EndpointVerdict['announced'] = [];
  const stale: TlsaRecord[] = [];
  // A record the resolver still holds but that every authoritative server has withdrawn is a
  // cache leftover: it goes by itself within its TTL, so there is nothing to remove (a run right
  // after a rollover's withdrawal would otherwise warn).
  const everyAuthAnswered = f.auth.length > 0 && f.auth.every((a) => a.status !== 'error');
  const servedByAuth = new Set(f.auth.flatMap((a) => a.records.map(recordKey)));
  const leftover = (r: TlsaRecord) => everyAuthAnswered && !servedByAuth.has(recordKey(r));
  for (const r of records) {
    const j = judged.get(r)!;
    // Defects of the record itself hold whatever chain is presented.
    if (j.defect && (j.defect.code === 'unusable' || j.defect.code === 'digest-length' || j.defect.code === 'empty-digest')) {
      add('WARNING', j.defect.code, `${short(r)} at ${f.name} ${j.defect.text}`);
      continue;
    }
    if (j.match === 'weak') add('WARNING', j.defect!.code, `${short(r)} at ${f.name} ${j.defect!.text}`);
    if (usableFor(j) || (fileCerts && usableFor(judgeRecord(r, fileCerts, ctx)))) continue;
    const role =
      f.expected.find((e) => e.records.some((x) => recordKey(x) === recordKey(r)))?.role ??
      f.others?.find((o) => usableFor(judgeRecord(r, o.certs, ctx)))?.role;
    if (role) announced.push({ record: recordText(r), role });
    else if (j.defect && certs) add('WARNING', j.defect.code, `${short(r)} at ${f.name} ${j.defect.text}`);
    else if (!leftover(r)) stale.push(r);
  }
  // Without the chain nothing can be called stale: it might be the one that matches.
  if (certs && stale.length > 0) {
    add('WARNING', 'stale', `${stale.length} record${stale.length > 1 ? 's' : ''} at ${f.name} match${stale.length > 1 ? '' : 'es'} neither the presented chain, the files on disk nor a staged chain: ${stale.map(short).join(', ')}`);
  }
  const large = largeRrsetWarning(f.name, records.length);
  if (large) add('WARNING', 'large-rrset', large);

  findings.push(...authFindings(f));
  findings.push(...fileFindings(f, certs, records, ctx, now));
  findings.push(...expiryFindings(f.connect, certs ?? fileCerts ?? [], now, t));

  return {
    name: f.name,
    connect: f.connect,
    severity: worstOf(findings.map((x) => x.severity)),
    matchedBy: matchedBy.map(recordText),
    stale: certs ? stale.map(recordText) : [],
    announced,
    ...(f.resolver?.cname ? { via: f.resolver.cname } : {}),
    leaf: certs ? certSummary(certs[0]!, now) : undefined,
    findings,
  };
}

function dnssecFindings(f: EndpointFacts): Finding[] {
  const out: Finding[] = [];
  const r = f.resolver;
  if (f.zoneSigned === false) {
    out.push({ severity: 'CRITICAL', code: 'unsigned', message: `the zone of ${f.name} is not DNSSEC-signed: DANE is not in effect` });
  }
  if (!r) return out;
  if (r.status === 'error') {
    out.push({ severity: 'UNKNOWN', code: 'resolver', message: `cannot ask resolver ${r.resolver}: ${r.error}` });
  } else if (r.status === 'servfail') {
    out.push({ severity: 'CRITICAL', code: 'servfail', message: `resolver ${r.resolver} answers SERVFAIL for TLSA ${f.name}: validation failed (bogus) or the zone's servers are unreachable; DANE clients defer or fail` });
  } else if (r.status !== 'ok') {
    out.push({ severity: 'CRITICAL', code: 'no-records', message: `resolver ${r.resolver} finds no TLSA records at ${f.name} (${r.status.toUpperCase()})` });
  } else if (!r.ad && f.zoneSigned !== false) {
    out.push({ severity: 'CRITICAL', code: 'no-ad', message: `resolver ${r.resolver} did not validate TLSA ${f.name} (no AD flag): no DS at the parent, a broken chain of trust, or a resolver that does not validate; DANE is not in effect` });
  }
  return out;
}

function authFindings(f: EndpointFacts): Finding[] {
  const out: Finding[] = [];
  const answered = f.auth.filter((a) => a.status !== 'error');
  for (const a of f.auth.filter((x) => x.status === 'error')) {
    out.push({ severity: 'WARNING', code: 'auth-error', message: `authoritative server ${a.server}: ${a.error}` });
  }
  const all = new Map<string, TlsaRecord>();
  for (const a of answered) for (const r of a.records) all.set(recordKey(r), r);
  const gaps: string[] = [];
  for (const [k, r] of all) {
    const lacking = answered.filter((a) => !a.records.some((x) => recordKey(x) === k)).map((a) => a.server);
    if (lacking.length > 0) gaps.push(`${short(r)} not on ${lacking.join(', ')}`);
  }
  if (gaps.length > 0) out.push({ severity: 'WARNING', code: 'auth-disagree', message: `authoritative servers disagree at ${f.name}: ${gaps.join('; ')}` });
  if (f.zoneSigned) {
    const bare = answered.filter((a) => a.status === 'ok' && !a.signed).map((a) => a.server);
    if (bare.length > 0) out.push({ severity: 'WARNING', code: 'auth-unsigned', message: `${bare.join(', ')} serve${bare.length > 1 ? '' : 's'} TLSA ${f.name} without an RRSIG` });
  }
  return out;
}

const sameChain = (a: Buffer[], b: Buffer[]) => a.length === b.length && a.every((c, i) => c.equals(b[i]!));

function fileFindings(f: EndpointFacts, certs: Buffer[] | undefined, records: TlsaRecord[], ctx: JudgeContext, now: number): Finding[] {
  if (!f.files) return [];
  if ('error' in f.files) return [{ severity: 'WARNING', code: 'files', message: `cannot read the files on disk: ${f.files.error}` }];
  const { source, certs: onDisk } = f.files;
  if (!certs || onDisk.length === 0) return [];
  const out: Finding[] = [];
  if (!onDisk[0]!.equals(certs[0]!)) {
    const live = certSummary(certs[0]!, now);
    const disk = certSummary(onDisk[0]!, now);
    out.push({ severity: 'WARNING', code: 'files-differ', message: `${f.connect} presents ${live.subject} (sha256 ${live.sha256}…, expires ${live.notAfter}), but ${source} holds ${disk.subject} (sha256 ${disk.sha256}…, expires ${disk.notAfter}): the service was not reloaded, or reads other files` });
  } else if (!sameChain(onDisk, certs)) {
    out.push({ severity: 'WARNING', code: 'files-differ', message: `${f.connect} presents ${certs.length} certificates, ${source} holds ${onDisk.length} (the issuer chain differs): reload the service` });
  }
  if (out.length > 0 && records.length > 0 && !records.some((r) => usableFor(judgeRecord(r, onDisk, ctx)))) {
    out.push({ severity: 'WARNING', code: 'files-unmatched', message: `no record at ${f.name} matches the chain in ${source}: a reload now would break DANE` });
  }
  return out;
}

function expiryFindings(where: string, certs: Buffer[], now: number, t: Thresholds): Finding[] {
  return certs.flatMap((der, i) => {
    const c = certSummary(der, now);
    return expiryFinding(`${i === 0 ? 'certificate' : 'issuer certificate'} ${c.subject} at ${where}`, c, t) ?? [];
  });
}

/** One chain of the rollover and its readiness per combination ("3 1 1 ready, 2 1 1 ready at ..."). */
export interface ChainReadinessLine {
  role: string;
  id: string;
  readiness: string;
}

export interface ServiceVerdict {
  service: string;
  severity: Severity;
  endpoints: EndpointVerdict[];
  /** Problems with the service as a whole (e.g. its DNS context could not be set up). */
  findings: Finding[];
  /** The rollover's chains, as dane-hook counts their readiness (informational: no severity). */
  readiness?: ChainReadinessLine[];
}

export function evaluateService(service: string, facts: EndpointFacts[], now: number, t: Thresholds, extra: Finding[] = []): ServiceVerdict {
  const endpoints = facts.map((f) => evaluateEndpoint(f, now, t));
  return { service, severity: worstOf([...endpoints.map((e) => e.severity), ...extra.map((x) => x.severity)]), endpoints, findings: extra };
}
