// One decision for a service with several lineages (an RSA and an ECDSA certificate on the same
// names). Pure. Each lineage keeps its own rollover state and is decided by decide() as a service
// of its own, with two additions that make them one service:
// - a lineage never withdraws a record another lineage still needs (`keep`): both may match the
//   same issuer's 2 1 1, and whichever published it owns it;
// - the plans merge phase by phase (publish, promote, reload, verify, withdraw), so lineages
//   promoted in one run share one reload, and the share rule (safety.ts) judges the withdrawals
//   of all lineages together against everything served at the name.
// A lineage removed from the config (`retired`) withdraws the records it owns that no configured
// lineage needs; those one still needs are handed over to it, so that lineage withdraws them when
// its own chains stop needing them.
import { recordKey } from '../tlsa/record.js';
import { Exit, worst } from '../errors.js';
import { decide, inPlay } from './decide.js';
import { unsafeWithdrawals } from './safety.js';
import type { ChainReadiness, Decision, DecideOptions, DecideTrigger, Observation, OwnedRecord, RolloverState, Step } from './types.js';

export interface LineageSlot {
  lineage: string;
  state: RolloverState;
  trigger: DecideTrigger;
  options: DecideOptions;
}

/** A lineage the service had and the config no longer names. */
export interface RetiredSlot {
  lineage: string;
  state: RolloverState;
  /** The live endpoint (--connect) still presents a chain of this lineage: its records stay. */
  stillPresented?: string;
}

export interface LineagesDecision {
  /** Per lineage, in the order given: its own decision (its `state` is what the engine stores). */
  decisions: { lineage: string; decision: Decision }[];
  /** The merged plan; every step names its lineage. */
  plan: Step[];
  held: string[];
  warnings: string[];
  readiness: ChainReadiness[];
  nextAt?: number;
  outcome: number;
  unsafe: boolean;
  /** Records a retired lineage owns that a configured one needs: they become that lineage's. */
  handOver: { from: string; to: string; owned: OwnedRecord }[];
}

/** Records the chains of a lineage need, this run's new chain or next key included. */
function needs(slot: LineageSlot) {
  const t = slot.trigger;
  const chains = [...inPlay(slot.state), ...(t.kind === 'deploy' ? [t.chain] : []), ...(t.nextKey ? [t.nextKey] : [])];
  return chains.flatMap((c) => c.records);
}

const PHASES: Step['kind'][][] = [['publish'], ['promote'], ['reload'], ['verify'], ['withdraw']];

export function decideLineages(slots: LineageSlot[], observation: Observation, now: number, retired: RetiredSlot[] = []): LineagesDecision {
  const decisions = slots.map((slot) => {
    const keep = slots.filter((o) => o !== slot).flatMap(needs);
    return { lineage: slot.lineage, decision: decide(slot.state, slot.trigger, observation, now, { ...slot.options, keep }) };
  });
  const retiring = retire(retired, slots);
  const tagged = [...decisions.map(({ lineage, decision }) => decision.plan.map((s): Step => ({ ...s, lineage }))), retiring.withdrawals];
  let plan: Step[] = [];
  const published = new Set<string>();
  for (const kinds of PHASES) {
    for (const steps of tagged) {
      for (const s of steps.filter((x) => kinds.includes(x.kind))) {
        // Two lineages that need one record (a shared issuer) publish it once; the first owns it.
        if (s.kind === 'publish') {
          const key = `${s.name} ${recordKey(s.record)}`;
          if (published.has(key)) continue;
          published.add(key);
        }
        plan.push(s);
      }
    }
  }
  const said = (lineage: string, list: string[]) => list.map((x) => `${lineage}: ${x}`);
  const held = [...decisions.flatMap(({ lineage, decision }) => said(lineage, decision.held)), ...retiring.held];
  const warnings = decisions.flatMap(({ lineage, decision }) => said(lineage, decision.warnings));
  const codes = [...decisions.map(({ decision }) => decision.outcome), ...(retiring.held.length > 0 ? [Exit.NOT_VERIFIED] : [])];
  // Each lineage's withdrawals passed the share rule alone; together they may not.
  const risky = unsafeWithdrawals(plan, observation.presence);
  const force = slots.some((s) => s.options.force);
  if (!force && plan.some((s) => s.kind === 'withdraw' && risky.names.has(s.name))) {
    plan = plan.filter((s) => s.kind !== 'withdraw' || !risky.names.has(s.name));
    warnings.push(`withdrawal refused: ${risky.reasons.join('; ')}; rerun with --force if that is intended`);
    held.push(`withdrawals that need --force: ${risky.reasons.join('; ')}`);
    codes.push(Exit.UNSAFE_PLAN);
  }
  const times = decisions.map(({ decision }) => decision.nextAt).filter((t): t is number => t !== undefined);
  return {
    decisions,
    plan,
    held,
    warnings,
    readiness: decisions.flatMap(({ lineage, decision }) => decision.readiness.map((r) => ({ ...r, lineage }))),
    nextAt: times.length > 0 ? Math.min(...times) : undefined,
    outcome: worst(codes),
    unsafe: decisions.some(({ decision }) => decision.unsafe),
    handOver: retiring.handOver,
  };
}

/** The withdrawals and hand-overs of the retired lineages (held while the endpoint still presents one). */
function retire(retired: RetiredSlot[], slots: LineageSlot[]): { withdrawals: Step[]; handOver: LineagesDecision['handOver']; held: string[] } {
  const out = { withdrawals: [] as Step[], handOver: [] as LineagesDecision['handOver'], held: [] as string[] };
  for (const r of retired) {
    if (r.stillPresented) {
      out.held.push(`${r.lineage}: the lineage is no longer configured, but ${r.stillPresented}; its records stay until the service stops presenting it`);
      continue;
    }
    for (const owned of r.state.owned) {
      const key = recordKey(owned.record);
      const to = slots.find((s) => s.options.names.includes(owned.name) && [...needs(s), ...s.options.pins].some((x) => recordKey(x) === key));
      if (to) out.handOver.push({ from: r.lineage, to: to.lineage, owned });
      else out.withdrawals.push({ kind: 'withdraw', name: owned.name, record: owned.record, reason: `lineage ${r.lineage} is no longer configured`, lineage: r.lineage });
    }
  }
  return out;
}
