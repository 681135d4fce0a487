// Extra CA certificates pinned with usage 0/2 records (an issuer family the next renewal may come
// from). The rollover engine, status and check all need the same records: one home for them.
import { loadChain } from './load.js';
import { recordsForChain } from './compute.js';
import { recordKey, type TlsaParams, type TlsaRecord } from './record.js';

/** Each file's certificates, one record per usage 0/2 parameter set in `params`. */
export function pinRecords(caFiles: string[], params: TlsaParams[]): TlsaRecord[] {
  const out = new Map<string, TlsaRecord>();
  const caParams = params.filter((p) => p.usage === 0 || p.usage === 2);
  for (const file of caFiles) {
    for (const der of loadChain(file)) {
      for (const p of caParams) for (const r of recordsForChain([der], p)) out.set(recordKey(r), r);
    }
  }
  return [...out.values()];
}
