// How long a decision stands. decide is pure, and between two observations it reads the clock only
// through thresholds the state fixes: a record's readyAt, a chain's expiry, the start of the expiry
// warning and of the renewal gate's release. So the same state, trigger and observation decide the
// same until the earliest of them still ahead, and a periodic run that finds a service exactly as
// before may take the last decision instead of making it again (engine/idle-memo.ts).
import { gateFloorMs, defaultLifetimePolicy } from './lifetime.js';
import { queue } from './apply.js';
import type { Decision, DecideOptions, RolloverState } from './types.js';

/**
 * The first time after `now` at which `decide(prev, trigger, observation, t, o)` may differ from
 * `d`, which it returned at `now`; `now` itself when the decision is not known to stand a moment:
 * its text counts down (an expiry warning, the renewal gate's reasons), it names a time to look
 * again that moves with the clock (nextAt), or a lifetime policy other than the default (whose use
 * of the clock is its own) was asked. Holds when the decision added nothing to `seen` (a record
 * first served everywhere is dated `now`): then every threshold is in `prev` or in `d.state`.
 */
export function decisionStableUntil(prev: RolloverState, d: Decision, o: DecideOptions, now: number): number {
  if (d.warnings.length > 0 || d.held.length > 0 || d.nextAt !== undefined) return now;
  if (o.lifetime !== undefined && o.lifetime !== defaultLifetimePolicy) return now;
  let until = Infinity;
  const ahead = (t: number | undefined) => {
    if (t !== undefined && t > now && t < until) until = t;
  };
  for (const state of [prev, d.state]) {
    for (const entries of Object.values(state.seen)) for (const e of Object.values(entries)) ahead(e.readyAt);
    // Any of them may be the chain in service once the plan ran (a promotion): each one's expiry
    // warning and gate thresholds count, not only those of the chain in service now.
    for (const c of [state.inService, ...queue(state), state.next, state.retiring]) {
      if (c?.notAfter === undefined) continue;
      ahead(c.notAfter);
      ahead(c.notAfter - defaultLifetimePolicy.warnBeforeMs(c));
      if (c.notBefore !== undefined) ahead(c.notAfter - gateFloorMs({ notBefore: c.notBefore, notAfter: c.notAfter }, o.ttl));
    }
  }
  return until;
}
