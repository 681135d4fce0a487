// Which certificate a live endpoint presents, as the state names chains: the SHA-256 of the leaf.
// The engine asks it before withdrawing records (a reload that failed keeps the old chain live) and
// for a removed lineage whose chain may still be served.
import { createHash } from 'node:crypto';
import { parseEndpoint, presentedChain, type ProbeOptions } from './probe.js';
import { defaultStartTls, type StartTls } from './starttls.js';

/**
 * A probe of `connect` (STARTTLS as configured, else the port's usual dialogue) that resolves to
 * the presented leaf's SHA-256 hex ('' when no certificate is sent) and rejects as presentedChain
 * does. A bad endpoint throws here, before any probe.
 */
export function leafProbe(connect: string, starttls: StartTls | undefined): (opts: ProbeOptions) => Promise<string> {
  const dialogue = starttls ?? defaultStartTls(parseEndpoint(connect).port);
  return async (opts) => {
    const chain = await presentedChain(connect, dialogue, { timeoutMs: 10_000, ...opts });
    return chain[0] ? createHash('sha256').update(chain[0]).digest('hex') : '';
  };
}
