// When the chain in service counts as close to expiry: two weeks, or a third of its lifetime when
// that is shorter (a 6-day certificate would otherwise warn from its first day).
import { lifetimeRules } from './lifetime.js';
import type { ChainRef, LifetimePolicy } from './types.js';

const DAY = 86_400_000;
export const WARN_BEFORE_MS = 14 * DAY;

export const defaultLifetimePolicy: LifetimePolicy = {
  warnBeforeMs(chain: ChainRef): number {
    if (chain.notBefore === undefined || chain.notAfter === undefined) return WARN_BEFORE_MS;
    return Math.min(WARN_BEFORE_MS, (chain.notAfter - chain.notBefore) / 3);
  },
  // The pre-renew gate and the "rollover cannot keep up" warning (src/rollover/lifetime.ts).
  ...lifetimeRules,
};

/** Hours or days, whichever reads better. */
export function durationText(ms: number): string {
  const h = Math.abs(ms) / 3_600_000;
  return h < 48 ? `${h.toFixed(1)} h` : `${(h / 24).toFixed(1)} days`;
}
