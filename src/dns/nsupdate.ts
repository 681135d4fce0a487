// The nsupdate backend: RFC 2136 updates through the real `nsupdate`, TSIG-signed with a key file
// (-k, never -y: a secret on the command line shows in `ps`). One update message per call, made of
// single-record adds and deletes — never "delete the whole RRset", so records that others put at
// the same name survive.
//
// Note: an add with a TTL other than the RRset's changes the TTL of the whole RRset (RFC 2136 3.4.2.2
// as BIND implements it). The caller passes one TTL for all records at a name.
import { access, constants } from 'node:fs/promises';
import { DnsError, UserError } from '../errors.js';
import { checkName } from '../tlsa/name.js';
import { recordText } from '../tlsa/record.js';
import { formatServer } from './address.js';
import { checkChanges } from './changes.js';
import { packGroups } from './batch.js';
import { keyForNsupdate } from './tsig.js';
import type { ApplyOptions, Backend, ChangeGroup, GroupResult, RecordChange, ServerAddress } from './types.js';
import { runProcess } from './run-process.js';
import type * as packet from 'dns-packet';
import { setTimeout as pause } from 'node:timers/promises';
import { query, Timeout } from './query.js';

export interface NsupdateOptions {
  server: ServerAddress;
  /** A key file as written by tsig-keygen or dnssec-keygen; without one the update goes unsigned. */
  tsigKeyFile?: string;
  /** Give up after this many seconds without an answer (default 10). */
  timeoutSec?: number;
  /** The nsupdate binary (default 'nsupdate' on PATH). */
  command?: string;
  /** Largest batched message (default batch.ts MAX_MESSAGE_BYTES; tests make it small). */
  maxMessageBytes?: number;
}

const SERVER_HOST = /^[A-Za-z0-9.:_-]+$/;

/** The nsupdate script for the changes: `server`, `zone`, one `update` line per change, `send`. */
export function renderNsupdateScript(changes: RecordChange[], options: { server?: ServerAddress; zone: string }): string {
  return [...messageLines(changes, options), 'send', ''].join('\n');
}

/** One message's lines before its `send`: `server`, `zone` and the updates, all checked. */
function messageLines(changes: RecordChange[], options: { server?: ServerAddress; zone: string }): string[] {
  // An unknown zone ('') leaves the zone line out: nsupdate then finds the zone by SOA lookup.
  const zone = options.zone === '' ? undefined : checkName(options.zone, 'zone');
  const checked = checkChanges(changes, zone);
  const lines: string[] = [];
  if (options.server) {
    const { host, port } = options.server;
    if (!SERVER_HOST.test(host) || !Number.isInteger(port) || port < 1 || port > 65535) {
      throw new UserError(`DNS server ${JSON.stringify(`${host}:${port}`)} is not a valid address`);
    }
    lines.push(`server ${host} ${port}`);
  }
  if (zone !== undefined) lines.push(`zone ${zone}`);
  for (const c of checked) {
    lines.push(c.op === 'add' ? `update add ${c.name} ${c.ttl} IN TLSA ${recordText(c.record)}` : `update delete ${c.name} IN TLSA ${recordText(c.record)}`);
  }
  return lines;
}

/** nsupdate's -u (seconds per UDP try) and -r (retries) so that all tries fit in `total` seconds. */
function udpTiming(total: number): { perTry: number; retries: number } {
  const perTry = Math.max(1, Math.floor(total / 3));
  return { perTry, retries: Math.min(2, Math.max(0, Math.floor(total / perTry) - 1)) };
}

export function nsupdateBackend(options: NsupdateOptions): Backend {
  return {
    name: 'nsupdate',
    applies: true,
    async apply(changes: RecordChange[], apply: ApplyOptions): Promise<void> {
      const script = renderNsupdateScript(changes, { server: options.server, zone: apply.zone });
      if (changes.length === 0) return;
      await runNsupdate(script, checkName(apply.zone, 'zone'), options);
    },
    applyGroups: (groups, apply) => applyGroups(groups, checkName(apply.zone, 'zone'), options),
    settled: async (zone) => {
      if (zone !== '') await zoneTurns.get(turnKey(options.server, checkName(zone, 'zone')));
    },
  };
}

async function runNsupdate(script: string, zone: string, options: NsupdateOptions): Promise<void> {
  const timeoutSec = options.timeoutSec ?? 10;
  const { args, scriptHead } = await nsupdateArgs(options, timeoutSec);
  const command = options.command ?? 'nsupdate';
  const result = await runProcess(command, args, scriptHead + script, (timeoutSec + 5) * 1000);
  if (result.exitCode === 0 && !result.timedOut) return;
  throw nsupdateError({ zone, server: formatServer(options.server), timeoutSec, command, result });
}

/**
 * Rcodes by which the server refused a message for what it carried (policy, a full RRset, a name
 * out of zone): an UPDATE is applied whole or not at all, so its groups can go again one by one
 * and only the guilty ones fail. A bad key, a timeout or a dead server would fail them all again.
 */
const CONTENT_RCODES = new Set(['REFUSED', 'SERVFAIL', 'NOTZONE', 'FORMERR', 'NXRRSET', 'YXRRSET', 'NXDOMAIN', 'YXDOMAIN']);

/**
 * Many groups in as few messages as the size allows, all in one nsupdate process (see
 * sendMessages); the groups of a multi-group message refused for its content are sent again, one
 * message each (one more process), so one service's bad change does not fail its neighbours.
 */
async function applyGroups(groups: ChangeGroup[], zone: string, options: NsupdateOptions): Promise<GroupResult[]> {
  const results = await sendMessages(groups, zone, options, options.maxMessageBytes);
  const again = results.flatMap((r, i) => (r.shared && r.error instanceof DnsError && CONTENT_RCODES.has(r.error.rcode ?? '') ? [i] : []));
  if (again.length === 0) return results.map(({ id, error }) => (error ? { id, error } : { id }));
  const alone = await sendMessages(again.map((i) => groups[i]!), zone, options, 1);
  again.forEach((i, k) => (results[i] = alone[k]!));
  return results.map(({ id, error }) => (error ? { id, error } : { id }));
}

/**
 * Groups packed into messages of at most `maxBytes` (1: one group per message), sent one after
 * another. `shared`: the group rode in a message with others.
 *
 * Each message takes its zone's turn (see takeTurn): it goes out once the message before it to the
 * same zone and server is served and the server answers again (see serialBefore), and its own
 * turn ends when the zone's served SOA serial has moved past the serial seen before it. The wait is
 * not made here: the next message waits for it, and a caller that looks at what it sent waits
 * through settled(); meanwhile the run goes on.
 */
async function sendMessages(groups: ChangeGroup[], zone: string, options: NsupdateOptions, maxBytes: number | undefined): Promise<(GroupResult & { shared?: boolean })[]> {
  if (groups.length === 0) return [];
  const timeoutSec = options.timeoutSec ?? 10;
  const messages = packGroups(groups, maxBytes);
  let how: Invocation;
  try {
    how = await nsupdateArgs(options, timeoutSec);
  } catch (e) {
    return groups.map((g) => ({ id: g.id, error: e as UserError }));
  }
  const out: (GroupResult & { shared?: boolean })[] = [];
  const key = turnKey(options.server, zone);
  for (const m of messages) {
    const served = await takeTurn(key);
    let error: DnsError | undefined;
    let moved: Promise<void> | undefined;
    try {
      const before = await serialBefore(options.server, zone, key, timeoutSec * 1000);
      error = await sendMessage(m.flatMap((g) => g.changes), zone, options, how);
      if (!error && before !== undefined) moved = serialMoved(options.server, zone, before, timeoutSec * 1000);
    } finally {
      served(moved);
    }
    out.push(...m.map((g) => (error ? { id: g.id, error, shared: m.length > 1 } : { id: g.id })));
  }
  return out;
}

/**
 * Per server and zone, the end of the last turn taken: when the last message sent there is served.
 * named 9.18 with inline signing drops an UPDATE that comes while its signed copy still takes the
 * previous one (its log says "receive_secure_serial: unchanged" and the second message's records
 * are never served, though it answered NOERROR; measured with 2 x 800 adds in one nsupdate
 * process). A run sends from several chunks of services at once, so the turns are kept here, for
 * the whole process, not per call.
 */
const zoneTurns = new Map<string, Promise<void>>();

const turnKey = (server: ServerAddress, zone: string): string => `${formatServer(server)} ${zone.toLowerCase()}`;

/**
 * Waits until the zone's previous message is served; returns how to end this turn: with the
 * promise of this message being served (undefined: nothing to wait for, e.g. it failed).
 */
async function takeTurn(key: string): Promise<(served: Promise<void> | undefined) => void> {
  const previous = zoneTurns.get(key);
  let end!: (served: Promise<void> | undefined) => void;
  const mine = new Promise<void>((resolve) => {
    end = (served) => void (served ?? Promise.resolve()).then(resolve, resolve);
  });
  zoneTurns.set(key, mine);
  void mine.then(() => zoneTurns.get(key) === mine && zoneTurns.delete(key));
  await previous;
  return end;
}

/**
 * One message in one nsupdate process: shown, sent and its answer printed, so its outcome is read
 * from stdout (the rcode and a TSIG error); without an answer, from how the process failed.
 */
async function sendMessage(changes: RecordChange[], zone: string, options: NsupdateOptions, how: Invocation): Promise<DnsError | undefined> {
  const timeoutSec = options.timeoutSec ?? 10;
  const command = options.command ?? 'nsupdate';
  const script = [...messageLines(changes, { server: options.server, zone }), 'show', 'send', 'answer'].join('\n');
  const result = await runProcess(command, how.args, `${how.scriptHead}${script}\n`, (timeoutSec + 5) * 1000);
  const block = String(result.stdout ?? '').split('Outgoing update query:')[1] ?? '';
  const status = /Answer:[\s\S]*?status: ([A-Z]+)/.exec(block)?.[1];
  if (status === undefined) return nsupdateError({ zone, server: formatServer(options.server), timeoutSec, command, result });
  if (status === 'NOERROR') return undefined;
  const tsig = /TSIG PSEUDOSECTION:\n.*\s(BAD[A-Z]+)\s/.exec(block)?.[1];
  return nsupdateError({ zone, server: formatServer(options.server), timeoutSec, command, result: { stderr: `update failed: ${status}${tsig ? `(${tsig})` : ''}`, exitCode: result.exitCode } });
}

/** servedSerial when the server did not answer in time: busy (named signing a large message answers nothing meanwhile), or dropping our queries. */
const NO_ANSWER = Symbol('no answer');

/** Servers (turn keys) that answered no serial question for a whole update timeout: asked once, briefly, before each later message. */
const silentServers = new Set<string>();

/**
 * The zone's SOA serial as `server` serves it now (one question, `timeoutMs` per try); undefined
 * when there is nothing to wait for: it answers without one, refuses, or cannot be reached.
 */
async function servedSerial(server: ServerAddress, zone: string, timeoutMs = 1000, retries = 1): Promise<number | undefined | typeof NO_ANSWER> {
  try {
    const reply = await query(server, zone, 'SOA', { timeoutMs, retries });
    return (reply.answers ?? []).find((a): a is packet.SoaAnswer => a.type === 'SOA')?.data.serial;
  } catch (e) {
    return e instanceof DnsError && e.cause instanceof Timeout ? NO_ANSWER : undefined;
  }
}

/**
 * Asks for the serial every 10 ms, each question within the time left, until `enough` takes an
 * answer or `maxMs` has passed; the last answer (NO_ANSWER when the server stayed silent).
 */
async function askSerialUntil(server: ServerAddress, zone: string, maxMs: number, enough: (now: number | undefined | typeof NO_ANSWER) => boolean): Promise<number | undefined | typeof NO_ANSWER> {
  for (const until = Date.now() + maxMs; ; await pause(10)) {
    const now = await servedSerial(server, zone, Math.min(1000, Math.max(1, until - Date.now())), 0);
    if (enough(now) || Date.now() >= until) return now;
  }
}

/**
 * The served serial before a message. A server that answers nothing is busy signing (a message
 * sent now would be dropped, see zoneTurns): it is asked again until it answers, at most `maxMs`;
 * after that it counts as silent, and is asked once, briefly, before each later message (an
 * answer ends that). Undefined: the message goes without a wait for its serial.
 */
async function serialBefore(server: ServerAddress, zone: string, key: string, maxMs: number): Promise<number | undefined> {
  const silent = silentServers.has(key);
  const now = await askSerialUntil(server, zone, silent ? 1000 : maxMs, (n) => n !== NO_ANSWER);
  if (now === NO_ANSWER) {
    silentServers.add(key);
    return undefined;
  }
  silentServers.delete(key);
  return now;
}

/**
 * Waits (at most `maxMs`) until the served serial differs from `before`; a server busy signing
 * answers nothing for a while and is asked again; one that answers without a serial is not waited for.
 */
async function serialMoved(server: ServerAddress, zone: string, before: number, maxMs: number): Promise<void> {
  // Signing a full message takes named tens to hundreds of ms: asked every 10 ms, a turn ends soon after.
  await askSerialUntil(server, zone, maxMs, (n) => n === undefined || (n !== NO_ANSWER && n !== before));
}

/** How nsupdate is started: the key (-k, or on stdin: see tsig.ts; checked readable first) and timing that fits `timeoutSec`. */
interface Invocation {
  args: string[];
  /** Script lines before the updates (the key, when it goes on stdin). */
  scriptHead: string;
}

async function nsupdateArgs(options: NsupdateOptions, timeoutSec: number): Promise<Invocation> {
  const args: string[] = [];
  let key = { args: [] as string[], scriptHead: '' };
  if (options.tsigKeyFile !== undefined) {
    // nsupdate itself would carry on unsigned after an unreadable key file: check first.
    try {
      await access(options.tsigKeyFile, constants.R_OK);
    } catch (e) {
      throw new UserError(`TSIG key file ${options.tsigKeyFile} cannot be read (${(e as NodeJS.ErrnoException).code}): check --tsig-key`);
    }
    key = keyForNsupdate(options.tsigKeyFile);
    args.push(...key.args);
  }
  const { perTry, retries } = udpTiming(timeoutSec);
  args.push('-t', String(timeoutSec), '-u', String(perTry), '-r', String(retries));
  return { args, scriptHead: key.scriptHead };
}

interface Failed {
  zone: string;
  server: string;
  timeoutSec: number;
  command: string;
  result: { stderr?: unknown; stdout?: unknown; exitCode?: number; timedOut?: boolean; code?: string; originalMessage?: string };
}

/** What failed first, then the likely cause and the way out; never the key file's content. */
export function nsupdateError(f: Failed): DnsError {
  const head = `nsupdate to ${f.server} failed for zone ${f.zone}`;
  const stderr = String(f.result.stderr ?? '');
  const make = (reason: string, rcode?: string) => new DnsError(`${head}: ${reason}`, { server: f.server, rcode });
  if (f.result.code === 'ENOENT') return make(`the '${f.command}' program is not installed (Debian: apt-get install bind9-dnsutils)`);
  if (f.result.timedOut) return make(`nsupdate did not finish within ${f.timeoutSec + 5} s`);
  // Before the rcode: after a bad key file nsupdate sends unsigned and reports the server's REFUSED.
  if (/could not (read|create) key|invalid key|keyfile/i.test(stderr)) return make(`nsupdate could not use the TSIG key file (malformed?) — check --tsig-key`);
  const rcode = /update failed: ([A-Z]+(?:\s*\([A-Z]+\))?)/.exec(stderr)?.[1]?.replace(/\s+/g, ' ');
  if (rcode) {
    const code = rcode.replace(/\s*\(.*/, '');
    if (/BADSIG|BADTIME/.test(rcode)) return make(`${rcode.replace('(', ' (')}: the TSIG key does not match the server's (or the clocks differ) — check --tsig-key`, code);
    if (/BADKEY/.test(rcode)) return make(`${rcode.replace('(', ' (')}: the server does not know this TSIG key name — check --tsig-key`, code);
    if (code === 'NOTAUTH') return make(`NOTAUTH: the server is not authoritative for ${f.zone} — check the zone and the server`, code);
    if (code === 'REFUSED') return make(`REFUSED: the server's update-policy does not allow this key to change TLSA in this zone (or the zone is wrong)`, code);
    if (code === 'NXRRSET' || code === 'YXRRSET' || code === 'NXDOMAIN' || code === 'YXDOMAIN') {
      return make(`${code}: a prerequisite did not hold (the records changed meanwhile) — run again`, code);
    }
    if (code === 'SERVFAIL') return make(`SERVFAIL: the server could not apply the update — see its log`, code);
    return make(rcode, code);
  }
  if (/timed out/.test(stderr)) return make(`no answer from ${f.server} within ${f.timeoutSec} s — is it the right address and port?`);
  if (/connection refused/.test(stderr)) return make(`connection refused by ${f.server}: nothing listens there`);
  // nsupdate may echo a key's secret in its messages ("could not create key from alg:name:SECRET"): skip key lines.
  const first = stderr.split('\n').map((l) => l.replace(/^;\s*/, '').trim()).find((l) => l !== '' && !/key|secret/i.test(l)) ?? f.result.originalMessage ?? 'unknown error';
  return make(`${first} (exit ${f.result.exitCode ?? '?'})`);
}
