// Expiry findings of `dane-hook check`. The thresholds come from the short-lifetime policy
// (rollover/lifetime.ts): --warn-days/--crit-days when given, else a share of each certificate's
// own lifetime, so a 6-day certificate is not WARNING from the day it is issued and a 90-day one
// keeps the classic 14/3 days.
import { EXPIRY_DEFAULTS, expiryThresholds, formatDuration, type ExpiryFlags, type ExpiryThresholds } from '../rollover/lifetime.js';

const DAY_MS = 86_400_000;

/** What the expiry rule reads of a certificate (the check's CertSummary has these). */
export interface CertDates {
  notAfter: string;
  daysLeft: number;
  lifetimeDays: number;
}

export interface ExpiryFinding {
  severity: 'WARNING' | 'CRITICAL';
  code: 'expired' | 'expires';
  message: string;
}

export const thresholdsFor = (c: Pick<CertDates, 'lifetimeDays'>, flags: ExpiryFlags): ExpiryThresholds => expiryThresholds(c.lifetimeDays * DAY_MS, flags);

/** "3 days", or "10 h 40 min (1/15 of its 6 d 16 h lifetime)" when the default was scaled down. */
function thresholdText(days: number, given: boolean, divisor: number, lifetimeDays: number): string {
  if (given || days * divisor < lifetimeDays - 1e-9) return `${Number(days.toFixed(3))} days`;
  return `${formatDuration(days * DAY_MS)} (1/${divisor} of its ${formatDuration(lifetimeDays * DAY_MS)} lifetime)`;
}

/** The finding for one certificate (`what` names it), or undefined when it is far from expiry. */
export function expiryFinding(what: string, c: CertDates, flags: ExpiryFlags): ExpiryFinding | undefined {
  const t = thresholdsFor(c, flags);
  const left = formatDuration(c.daysLeft * DAY_MS);
  if (c.daysLeft < 0) return { severity: 'CRITICAL', code: 'expired', message: `${what} expired on ${c.notAfter}` };
  if (c.daysLeft < t.critDays) {
    const below = thresholdText(t.critDays, flags.critDays !== undefined, EXPIRY_DEFAULTS.crit.divisor, c.lifetimeDays);
    return { severity: 'CRITICAL', code: 'expires', message: `${what} expires in ${left} (${c.notAfter}; critical below ${below})` };
  }
  if (c.daysLeft < t.warnDays) {
    const below = thresholdText(t.warnDays, flags.warnDays !== undefined, EXPIRY_DEFAULTS.warn.divisor, c.lifetimeDays);
    return { severity: 'WARNING', code: 'expires', message: `${what} expires in ${left} (${c.notAfter}; warning below ${below})` };
  }
  return undefined;
}
