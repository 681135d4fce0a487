// The text forms of a batch of changes that the emit backend hands over (pure):
//   nsupdate  a script for `nsupdate -k KEY` (server line when known, zone, updates, send)
//   zone      a zone-file fragment: each add is a live record line after a `; add` comment, each
//             delete a comment `; delete NAME TTL IN TLSA ...`, so pasting the whole output into a
//             zone file adds the new records and never a withdrawn one (remove those by hand)
//   json      one array of {op, name, ttl, usage, selector, matching, data}
import { recordText } from '../tlsa/record.js';
import { checkName } from '../tlsa/name.js';
import { checkChanges } from './changes.js';
import { renderNsupdateScript } from './nsupdate.js';
import type { EmitFormat, RecordChange, ServerAddress } from './types.js';

/** Empty changes give empty text, or [] in JSON. Throws on a bad change before any text exists. */
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
