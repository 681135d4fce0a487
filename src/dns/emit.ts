// The emit backend: changes DNS not at all. It checks each batch (valid names inside the zone,
// valid TTLs and data) and hands it to its sink; rendering and printing it (dns/render.ts) is the
// caller's business, so nothing under dns/ writes to stdout.
import { checkName } from '../tlsa/name.js';
import { checkChanges } from './changes.js';
import type { ApplyOptions, Backend, EmitSink, RecordChange } from './types.js';

export function emitBackend(emitted: EmitSink): Backend {
  return {
    name: 'emit',
    applies: false,
    async apply(changes: RecordChange[], apply: ApplyOptions): Promise<void> {
      // '' = zone not known (emit with no server to ask): names are checked, the zone left open.
      const zone = apply.zone === '' ? undefined : checkName(apply.zone, 'zone');
      await emitted(checkChanges(changes, zone), apply.zone);
    },
  };
}
