// How large one TLSA RRset may grow before senders stop reading it. Pure; shared by `check` and the
// rollover run, so both warn at the same size with the same words.

/**
 * Some large senders handle only about 12 TLSA records per name (Microsoft's outbound SMTP among
 * them); fleets x key types x current+next records reach that quickly.
 */
export const MAX_TLSA_RECORDS = 12;

/** The warning for an RRset of `count` records at `name`, or undefined when it is small enough. */
export function largeRrsetWarning(name: string, count: number): string | undefined {
  if (count <= MAX_TLSA_RECORDS) return undefined;
  return `${count} TLSA records at ${name}: some large senders read only about ${MAX_TLSA_RECORDS} per name and may miss the one that matches; withdraw stale records or share fewer keys per name`;
}
