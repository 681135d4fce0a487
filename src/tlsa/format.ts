// Records as text for people and tools: bare RDATA, zone-file lines, nsupdate commands, JSON.
// Pure. Names are checked again here so nothing unchecked reaches a zone file or nsupdate.
import { UserError } from '../errors.js';
import { checkName, checkTtl } from './name.js';
import { recordText, type TlsaRecord } from './record.js';

export type RecordFormat = 'rdata' | 'zone' | 'nsupdate' | 'json';
export const RECORD_FORMATS: readonly RecordFormat[] = ['rdata', 'zone', 'nsupdate', 'json'];

export interface NamedRecord {
  name?: string;
  ttl: number;
  record: TlsaRecord;
  /** The file the record was computed from, shown in JSON. */
  source?: string;
}

function ownerOf(rr: NamedRecord, format: RecordFormat): string {
  if (rr.name === undefined) throw new UserError(`format '${format}' needs an owner name: give --name, or --host and --port`);
  return checkName(rr.name, 'TLSA name');
}

/** One line per record (JSON: one array), each line ending in a newline; '' for no records. */
export function formatRecords(rrs: NamedRecord[], format: RecordFormat): string {
  const lines = (f: (rr: NamedRecord) => string): string => rrs.map((rr) => `${f(rr)}\n`).join('');
  switch (format) {
    case 'rdata':
      return lines((rr) => recordText(rr.record));
    case 'zone':
      return lines((rr) => `${ownerOf(rr, format)} ${checkTtl(rr.ttl)} IN TLSA ${recordText(rr.record)}`);
    case 'nsupdate':
      return lines((rr) => `update add ${ownerOf(rr, format)} ${checkTtl(rr.ttl)} IN TLSA ${recordText(rr.record)}`);
    case 'json':
      return `${JSON.stringify(
        rrs.map((rr) => ({
          name: rr.name === undefined ? null : checkName(rr.name, 'TLSA name'),
          ttl: checkTtl(rr.ttl),
          usage: rr.record.usage,
          selector: rr.record.selector,
          matching: rr.record.matching,
          data: rr.record.data,
          source: rr.source ?? null,
        })),
        null,
        2,
      )}\n`;
    default:
      throw new UserError(`format '${String(format)}' is not known: use ${RECORD_FORMATS.join(', ')}`);
  }
}
