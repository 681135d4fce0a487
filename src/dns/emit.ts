// The emit backend: changes DNS not at all, prints the changes for a person or another tool.
// Formats:
//   nsupdate  a script for `nsupdate -k KEY` (server line when known, zone, updates, send)
//   zone      a zone-file fragment: each add is a live record line after a `; add` comment, each
//             delete a comment `; delete NAME TTL IN TLSA ...`, so pasting the whole output into a
//             zone file adds the new records and never a withdrawn one (remove those by hand)
//   json      one array of {op, name, ttl, usage, selector, matching, data}
import { recordText } from '../tlsa/record.js';
import { checkName } from '../tlsa/name.js';
import { checkChanges } from './changes.js';
import { renderNsupdateScript } from './nsupdate.js';
import type { ApplyOptions, Backend, RecordChange, ServerAddress } from './types.js';

export const EMIT_FORMATS = ['nsupdate', 'zone', 'json'] as const;
export type EmitFormat = (typeof EMIT_FORMATS)[number];

export interface EmitOptions {
  format?: EmitFormat;
  /** Where to write (default process.stdout). */
  out?: { write(chunk: string): unknown };
  /** Shown in the nsupdate script's `server` line when given. */
  server?: ServerAddress;
}

/** The text emit prints for these changes (pure). Empty changes give empty text, or [] in JSON. */
export function renderChanges(changes: RecordChange[], format: EmitFormat, options: { zone: string; server?: ServerAddress }): string {
  // '' = zone not known (emit with no server to ask): names are checked, the zone line left out.
  const zone = options.zone === '' ? undefined : checkName(options.zone, 'zone');
  const checked = checkChanges(changes, zone);
  if (format === 'json') {
    const list = checked.map((c) => ({ op: c.op, name: c.name, ttl: c.ttl, ...c.record }));
    return `${JSON.stringify(list, null, 2)}\n`;
  }
  if (checked.length === 0) return '';
  if (format === 'nsupdate') return renderNsupdateScript(checked, { zone: zone ?? '', server: options.server });
  return checked
    .map((c) => {
      const line = `${c.name} ${c.ttl} IN TLSA ${recordText(c.record)}`;
      return c.op === 'add' ? `; add\n${line}\n` : `; delete ${line}\n`;
    })
    .join('');
}

export function emitBackend(options: EmitOptions = {}): Backend {
  const format = options.format ?? 'nsupdate';
  return {
    name: 'emit',
    applies: false,
    async apply(changes: RecordChange[], apply: ApplyOptions): Promise<void> {
      // Rendered in full before writing: a bad change leaves no partial output.
      const text = renderChanges(changes, format, { zone: apply.zone, server: options.server });
      if (text !== '') (options.out ?? process.stdout).write(text);
    },
  };
}
