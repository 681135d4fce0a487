// One error type for everything the user can fix: a message that names the file or value and
// what is wrong, and the exit code to leave with. Anything else is a bug (see cli/main.ts).

/** Exit codes, documented in README.md ("Exit codes"). */
export const Exit = {
  OK: 0,
  /** A user error: bad input, bad config, a key that does not match its certificate. */
  USAGE: 2,
  /** A DNS backend or observer failed (server unreachable, REFUSED, BADSIG...). */
  DNS: 3,
  /** Deploy in direct mode put a chain in service before its record was ready: unsafe run. */
  UNSAFE: 4,
  /** pre-renew as a gate (acme.sh --pre-hook): the next key's record is not ready yet. */
  NOT_READY: 5,
  /** Another dane-hook run holds the state lock. */
  LOCKED: 6,
  /** The plan needs --force (it would withdraw the last record at a name, or too many). */
  UNSAFE_PLAN: 7,
  /** The live service does not present the chain in service (a reload that failed): withdrawals held. */
  NOT_VERIFIED: 8,
  /** The reload command failed after DNS or the activate dir changed (not bad input): retried next run. */
  RELOAD_FAILED: 9,
  /** advance: the chain in service is close to expiry (or expired) and no ready chain can replace it. */
  EXPIRING: 10,
  /** An internal error: a bug. */
  INTERNAL: 70,
} as const;

/**
 * The one order of outcomes, most important first: failures (the run could not do its work),
 * then hazards (it ran, but something is unsafe or needs a person), then waits. When several
 * services or several findings meet, the first in this list wins; a later code never hides an
 * earlier one. (A plain numeric maximum would let "not ready" (5) hide a DNS failure (3).)
 */
export const OUTCOME_ORDER: readonly number[] = [
  // failures
  Exit.INTERNAL,
  Exit.USAGE,
  Exit.DNS,
  Exit.RELOAD_FAILED,
  Exit.LOCKED,
  // hazards
  Exit.UNSAFE,
  Exit.EXPIRING,
  Exit.NOT_VERIFIED,
  Exit.UNSAFE_PLAN,
  // waits
  Exit.NOT_READY,
  Exit.OK,
];

const rank = (code: number): number => {
  const i = OUTCOME_ORDER.indexOf(code);
  // An unknown non-zero code is a failure we did not foresee: rank it with the internal errors.
  return i === -1 ? (code === 0 ? OUTCOME_ORDER.length : 0) : i;
};

/** The outcome that wins by OUTCOME_ORDER (OK for none). */
export function worst(codes: Iterable<number>): number {
  let best: number = Exit.OK;
  for (const c of codes) if (rank(c) < rank(best)) best = c;
  return best;
}

export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'UserError';
    this.exitCode = options.exitCode ?? Exit.USAGE;
  }
}

/** A failure talking to DNS: carries the operation and the server so the message can say both. */
export class DnsError extends UserError {
  readonly server?: string;
  readonly rcode?: string;
  constructor(message: string, options: { server?: string; rcode?: string; cause?: unknown } = {}) {
    super(message, { exitCode: Exit.DNS, cause: options.cause });
    this.name = 'DnsError';
    this.server = options.server;
    this.rcode = options.rcode;
  }
}
