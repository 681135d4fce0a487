// The powerdns backend: single-record changes through the PowerDNS Authoritative HTTP API.
// The API has no "add one record" or "delete one record": an RRset is only ever replaced whole
// (changetype REPLACE) or deleted whole. So each owner name is a read-modify-write: GET the zone,
// take its TLSA RRset, add or remove only our records, keep every other record (a fleet peer's,
// an operator's), PATCH the result. Between our GET and our PATCH a concurrent writer's change to
// the same RRset can be lost (PowerDNS offers no compare-and-swap); we re-read after the PATCH and
// fail when our own change is not there, and the rollover's later observation catches the rest.
// The API key is read from its file at apply time and goes only into the X-API-Key header: it is
// never printed, logged or put into an error message.
import { readBounded } from '../io/read-bounded.js';
import { DnsError, UserError } from '../errors.js';
import { paramsText, recordKey, type TlsaRecord } from '../tlsa/record.js';
import { checkChanges } from './changes.js';
import type { ApplyOptions, Backend, RecordChange } from './types.js';

export interface PowerdnsOptions {
  /** API base, e.g. http://127.0.0.1:8081 (the /api/v1 path is added here). */
  apiUrl: string;
  /** File holding the X-API-Key. */
  apiKeyFile: string;
  /** default 'localhost', the only server id PowerDNS Authoritative has. */
  serverId?: string;
  /** Seconds per HTTP request (default 15). */
  timeoutSec?: number;
}

interface ApiRecord {
  content: string;
  disabled: boolean;
}
interface ApiRrset {
  name: string;
  type: string;
  ttl?: number;
  records: ApiRecord[];
}

/** The key, trimmed; a UserError (naming the file, never the content) when it cannot be used. */
export function readApiKey(file: string): string {
  const key = readBounded(file, { what: `PowerDNS API key file ${file}` }).toString('utf8').trim();
  if (key === '') throw new UserError(`PowerDNS API key file ${file} is empty`);
  if (/[\0-\x1f\x7f]/.test(key)) throw new UserError(`PowerDNS API key file ${file} holds more than one line or a control character`);
  return key;
}

/** The content PowerDNS stores for a TLSA record: "3 1 1 hex". */
const contentOf = (r: TlsaRecord) => `${r.usage} ${r.selector} ${r.matching} ${r.data}`;

/** Our record key of an API content string, or undefined when it is not a TLSA we can read. */
function keyOfContent(content: string): string | undefined {
  const m = /^(\d+)\s+(\d+)\s+(\d+)\s+([0-9a-fA-F]+)$/.exec(content.trim());
  return m ? recordKey({ usage: Number(m[1]), selector: Number(m[2]), matching: Number(m[3]), data: m[4]!.toLowerCase() } as TlsaRecord) : undefined;
}

/** The new record list: our adds appended when missing, our deletes removed, everything else kept. */
export function mergeRecords(current: ApiRecord[], changes: RecordChange[]): ApiRecord[] {
  let records = [...current];
  for (const c of changes) {
    const key = recordKey(c.record);
    const present = records.some((r) => keyOfContent(r.content) === key);
    if (c.op === 'add' && !present) records.push({ content: contentOf(c.record), disabled: false });
    if (c.op === 'delete') records = records.filter((r) => keyOfContent(r.content) !== key);
  }
  return records;
}

export function powerdnsBackend(options: PowerdnsOptions): Backend {
  const base = options.apiUrl.replace(/\/+$/, '');
  const server = options.serverId ?? 'localhost';
  const timeoutMs = (options.timeoutSec ?? 15) * 1000;

  async function call(method: 'GET' | 'PATCH', zone: string, key: string, body?: unknown): Promise<unknown> {
    const url = `${base}/api/v1/servers/${encodeURIComponent(server)}/zones/${encodeURIComponent(zone)}`;
    const doing = method === 'GET' ? `could not read zone ${zone}` : `refused the change for zone ${zone}`;
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: { 'X-API-Key': key, Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (err) {
      throw new DnsError(`PowerDNS API at ${base} ${doing}: ${networkReason(err, timeoutMs)}`, { server: base, cause: err });
    }
    const text = await res.text().catch(() => '');
    if (res.ok) return text === '' ? undefined : JSON.parse(text);
    throw new DnsError(`PowerDNS API at ${base} ${doing}: ${httpReason(res, text, zone, key)}`, { server: base, rcode: String(res.status) });
  }

  async function tlsaRrset(zone: string, name: string, key: string): Promise<ApiRrset | undefined> {
    // 4.7 has no rrset filter on the zone GET: the whole zone is read and the RRset picked here.
    const z = (await call('GET', zone, key)) as { rrsets?: ApiRrset[] } | undefined;
    return z?.rrsets?.find((r) => r.type === 'TLSA' && r.name.toLowerCase() === name);
  }

  return {
    name: 'powerdns',
    applies: true,
    async apply(changes: RecordChange[], apply: ApplyOptions): Promise<void> {
      const checked = checkChanges(changes, apply.zone || undefined);
      if (checked.length === 0) return;
      const key = readApiKey(options.apiKeyFile);
      const zone = apply.zone;
      const names = [...new Set(checked.map((c) => c.name))];
      for (const name of names) {
        const mine = checked.filter((c) => c.name === name);
        const before = await tlsaRrset(zone, name, key);
        const records = mergeRecords(before?.records ?? [], mine);
        const ttl = mine[mine.length - 1]!.ttl;
        const rrset =
          records.length === 0
            ? { name, type: 'TLSA', changetype: 'DELETE' }
            : { name, type: 'TLSA', ttl, changetype: 'REPLACE', records };
        if (records.length === 0 && !before) continue;
        await call('PATCH', zone, key, { rrsets: [rrset] });
        // Read back: a concurrent writer's REPLACE between our GET and PATCH may have undone ours.
        const after = await tlsaRrset(zone, name, key);
        const served = new Set((after?.records ?? []).map((r) => keyOfContent(r.content)));
        for (const c of mine) {
          const there = served.has(recordKey(c.record));
          if (there !== (c.op === 'add')) {
            throw new DnsError(`PowerDNS API at ${base}: after the change for zone ${zone}, ${name} TLSA ${paramsText(c.record)} ${c.record.data.slice(0, 16)}... is ${there ? 'still present' : 'missing'} (a concurrent writer?)`, { server: base });
          }
        }
      }
    },
  };
}

function networkReason(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; cause?: { code?: string; message?: string }; message?: string };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return `timed out after ${timeoutMs / 1000} s`;
  const code = e.cause?.code;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name does not resolve';
  return oneLine(e.cause?.message ?? e.message ?? 'request failed');
}

function httpReason(res: Response, text: string, zone: string, key: string): string {
  const status = `${res.status} ${res.statusText}`.trim();
  if (res.status === 401 || res.status === 403) return `${status} (check --api-key-file)`;
  if (res.status === 404) return `${res.status} zone ${zone} not found`;
  let detail = '';
  try {
    detail = String((JSON.parse(text) as { error?: unknown }).error ?? '');
  } catch {
    detail = text;
  }
  // The key never goes into a message, even if a proxy echoed it back.
  detail = oneLine(detail).split(key).join('<key>');
  return detail ? `${status}: ${detail}` : status;
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, 300);
