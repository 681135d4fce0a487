// Policy for certificates whose lifetime is short next to the rollover's wait (DESIGN.md §8):
// 6-day certificates, ARI moving a renewal forward, 45/64-day defaults. Pure: times in, verdicts
// and messages out. Three rules:
// - the pre-renew gate holds a renewal only while the certificate in service has a safe share of
//   its lifetime left, so a stuck DNS update can never make it expire;
// - a rollover whose wait (2 x TTL) is a large share of the lifetime is said up front, with a TTL
//   that fits;
// - `check`'s expiry thresholds shrink with the lifetime, so a 6-day certificate is not WARNING
//   from the day it is issued.

import type { ChainRef, LifetimeInput, LifetimePolicy } from './types.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A certificate's validity, in ms since the epoch. */
export interface Validity {
  notBefore: number;
  notAfter: number;
}

/** The gate holds a renewal only while more than this share of the lifetime is left... */
export const GATE_MIN_SHARE = 1 / 3;
/** ...and more than 2 x TTL plus this margin (time for the new record to become ready, and slack). */
export const GATE_MARGIN_MS = HOUR;

/** A rollover cannot keep up when its wait, 2 x max(TTL, negative TTL), exceeds this share of the lifetime. */
export const KEEP_UP_SHARE = 1 / 4;

/** `check` defaults: a share of the lifetime (lifetime / divisor), but never more than the classic fixed days. */
export const EXPIRY_DEFAULTS = {
  warn: { days: 14, divisor: 5 },
  crit: { days: 3, divisor: 15 },
} as const;

/** "6 d 16 h", "53 h 20 min", "4 min 10 s": two units are enough to read at a glance. */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let left = Math.round(Math.abs(ms) / SECOND) * SECOND;
  const units: [number, string][] = [
    [DAY, 'd'],
    [HOUR, 'h'],
    [MINUTE, 'min'],
    [SECOND, 's'],
  ];
  const parts: string[] = [];
  for (const [size, name] of units) {
    if (parts.length === 2) break;
    const n = Math.floor(left / size);
    // After the first unit, the second one is shown even when 0 only if smaller units would be lost anyway.
    if (n > 0) parts.push(`${n} ${name}`);
    else if (parts.length === 1) break;
    left -= n * size;
  }
  return sign + (parts.length > 0 ? parts.join(' ') : '0 s');
}

const lifetimeOf = (v: Validity): number => v.notAfter - v.notBefore;

export interface GateInput {
  /** The certificate in service; undefined when none is known (then nothing can expire by holding). */
  inService?: Validity;
  now: number;
  /** The TTL the readiness wait is counted with, in seconds. */
  ttl: number;
  /** Staged mode is configured: a renewal let through waits in the state dir, the old chain stays live. */
  staged: boolean;
}

export type GateDecision =
  | { verdict: 'hold'; /** When the gate stops holding (ms), if a certificate is in service. */ releaseAt?: number; reason: string }
  | { verdict: 'release'; warning: string };

/** Below this much time left, the gate lets a renewal through: the larger of the two rules (whole ms). */
export function gateFloorMs(inService: Validity, ttl: number): number {
  return Math.floor(Math.max(lifetimeOf(inService) * GATE_MIN_SHARE, 2 * ttl * SECOND + GATE_MARGIN_MS));
}

/**
 * The pre-renew gate, asked when the next key's record is not ready: hold the renewal (the ACME
 * client tries again later) only while the certificate in service has more than a third of its
 * lifetime AND more than 2 x TTL + 1 h left; after that, holding could let it expire, so the
 * renewal goes ahead with a warning that says which DNS path follows.
 */
export function renewalGate(input: GateInput): GateDecision {
  const { inService, now, ttl } = input;
  if (!inService) return { verdict: 'hold', reason: "the next key's record is not ready" };
  const left = inService.notAfter - now;
  const floor = gateFloorMs(inService, ttl);
  if (left > floor) {
    return {
      verdict: 'hold',
      releaseAt: inService.notAfter - floor,
      reason: `the next key's record is not ready; the certificate in service has ${formatDuration(left)} left, so the renewal can wait (it is let through below ${formatDuration(floor)} left)`,
    };
  }
  const why =
    left <= 0
      ? `the certificate in service expired ${formatDuration(-left)} ago`
      : `the certificate in service has only ${formatDuration(left)} left (expires ${new Date(inService.notAfter).toISOString()})`;
  const rule = `the gate holds a renewal only while more than ${formatDuration(floor)} is left (the larger of a third of its ${formatDuration(lifetimeOf(inService))} lifetime and 2 x TTL ${ttl} s + 1 h)`;
  const path = input.staged
    ? 'staged mode keeps the current certificate in service until the new records are ready'
    : 'the new certificate goes live at once with its records published now: DANE clients holding cached records may fail for up to 2 x TTL (deploy reports the unsafe run, exit 4)';
  return { verdict: 'release', warning: `renewal let through although the next key's record is not ready: ${why}, and ${rule}; ${path}` };
}

export interface KeepUpInput {
  /** The shortest-lived certificate in play (in service or pending). */
  validity: Validity;
  /** Seconds. */
  ttl: number;
  /** The zone's negative-caching TTL (SOA minimum), seconds; 0 when unknown. */
  negativeTtl: number;
}

/** The largest TTL (and negative TTL) whose wait fits the share: 2 x TTL <= lifetime / 4. */
export const fittingTtl = (lifetimeMs: number): number => Math.floor((lifetimeMs * KEEP_UP_SHARE) / 2 / SECOND);

/**
 * When 2 x max(TTL, negative TTL) is more than a quarter of the certificate's lifetime, every
 * renewal spends a large part of its certificate's life waiting for its record: say it, with the
 * numbers and the TTL that would fit. undefined when the rollover keeps up.
 */
export function keepUpWarning(input: KeepUpInput): string | undefined {
  const lifetime = lifetimeOf(input.validity);
  const wait = 2 * Math.max(input.ttl, input.negativeTtl) * SECOND;
  if (wait <= lifetime * KEEP_UP_SHARE) return undefined;
  const fit = fittingTtl(lifetime);
  const waitText = input.negativeTtl > input.ttl ? `2 x the negative TTL ${input.negativeTtl} s (SOA minimum; TTL ${input.ttl} s)` : `2 x TTL ${input.ttl} s`;
  const lower = [input.ttl > fit ? 'the TTL' : '', input.negativeTtl > fit ? "the zone's negative TTL (SOA minimum)" : ''].filter(Boolean).join(' and ');
  const advice =
    fit >= 1
      ? `lower ${lower} to ${fit} s or less, or use a stable key (certbot --reuse-key)`
      : 'no TTL fits: use a stable key (certbot --reuse-key), whose records do not change at renewal';
  return `rollover cannot keep up: a new record is ready ${waitText} = ${formatDuration(wait)} after it is published, more than a quarter (${formatDuration(lifetime * KEEP_UP_SHARE)}) of the certificate's ${formatDuration(lifetime)} lifetime; ${advice}`;
}

/** `check --warn-days/--crit-days` as given; a missing one takes the lifetime-scaled default. */
export interface ExpiryFlags {
  warnDays?: number;
  critDays?: number;
}

export interface ExpiryThresholds {
  warnDays: number;
  critDays: number;
}

/**
 * Expiry thresholds for one certificate: given flags win; otherwise a share of the lifetime, at
 * most the classic 14/3 days (a 90-day certificate keeps 14/3, a 6-day one gets about 32 h/11 h).
 * The critical threshold never lies beyond the warning one.
 */
export function expiryThresholds(lifetimeMs: number, flags: ExpiryFlags): ExpiryThresholds {
  const lifetimeDays = Math.max(0, lifetimeMs) / DAY;
  const scaled = (d: { days: number; divisor: number }) => Math.min(d.days, lifetimeDays / d.divisor);
  const warnDays = flags.warnDays ?? Math.max(scaled(EXPIRY_DEFAULTS.warn), flags.critDays ?? 0);
  const critDays = flags.critDays ?? Math.min(scaled(EXPIRY_DEFAULTS.crit), warnDays);
  return { warnDays, critDays };
}

/** The shortest-lived of the chains whose validity is known (the one a slow rollover hurts first). */
export function shortestLived(chains: ({ notBefore?: number; notAfter?: number } | undefined)[]): Validity | undefined {
  let best: Validity | undefined;
  for (const c of chains) {
    if (c?.notBefore === undefined || c.notAfter === undefined) continue;
    const v = { notBefore: c.notBefore, notAfter: c.notAfter };
    if (!best || lifetimeOf(v) < lifetimeOf(best)) best = v;
  }
  return best;
}

const validityOf = (c: ChainRef | undefined): Validity | undefined =>
  c?.notBefore !== undefined && c.notAfter !== undefined ? { notBefore: c.notBefore, notAfter: c.notAfter } : undefined;

/**
 * The rules above as the rollover core's seam (LifetimePolicy) takes them. The chain in service
 * counts as close to expiry at `check`'s WARNING threshold (a fifth of its lifetime, at most 14
 * days): one policy, so `advance` and `check` raise the alarm at the same moment.
 */
export const defaultLifetimePolicy: LifetimePolicy = {
  warnBeforeMs(chain: ChainRef): number {
    const v = validityOf(chain);
    return (v ? expiryThresholds(lifetimeOf(v), {}).warnDays : EXPIRY_DEFAULTS.warn.days) * DAY;
  },
  warnings({ state, options, negativeTtl }: LifetimeInput): string[] {
    const validity = shortestLived([state.inService, state.pending, ...(state.waiting ?? [])]);
    const w = validity && keepUpWarning({ validity, ttl: options.ttl, negativeTtl });
    return w ? [w] : [];
  },
  renewalGate({ state, options, now }: LifetimeInput) {
    return renewalGate({ inService: validityOf(state.inService), now, ttl: options.ttl, staged: options.staged });
  },
};
