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
  /** An internal error: a bug. */
  INTERNAL: 70,
} as const;

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
