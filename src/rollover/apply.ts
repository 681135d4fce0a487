// applyStep: what one carried-out step changes in the state. Pure; the engine saves its result
// after each step (a publish before it is sent: a crash then leaves a record we know is ours),
// and the property test drives the very same function.
import { recordKey } from '../tlsa/record.js';
import type { ChainRef, RolloverState, Step } from './types.js';

const sameKey = (a: { name: string; record: Parameters<typeof recordKey>[0] }, name: string, key: string) => a.name === name && recordKey(a.record) === key;

/** The waiting chains and the pending one, oldest first. */
export function queue(state: RolloverState): ChainRef[] {
  return [...(state.waiting ?? []), ...(state.pending ? [state.pending] : [])];
}

export function applyStep(state: RolloverState, step: Step, now = 0): RolloverState {
  switch (step.kind) {
    case 'publish': {
      const key = recordKey(step.record);
      if (state.owned.some((o) => sameKey(o, step.name, key))) return state;
      return { ...state, owned: [...state.owned, { name: step.name, record: step.record, ttl: step.ttl, addedAt: now }] };
    }
    case 'withdraw': {
      const key = recordKey(step.record);
      return { ...state, owned: state.owned.filter((o) => !sameKey(o, step.name, key)) };
    }
    case 'promote': {
      if (step.retry || state.inService?.id === step.chainId) return state;
      const q = queue(state);
      const at = q.findIndex((c) => c.id === step.chainId);
      if (at === -1) return state;
      // The promoted chain and every older one leave the queue; newer renewals keep waiting.
      const rest = q.slice(at + 1);
      const { immediate: _immediate, ...chain } = q[at]! as ChainRef & { immediate?: boolean };
      return {
        ...state,
        inService: chain,
        pending: rest.at(-1),
        waiting: rest.slice(0, -1),
        // Until the reload is known to have worked, the service may still present the old chain.
        retiring: state.retiring ?? state.inService,
        reloadDue: true,
      };
    }
    case 'reload': {
      const { retiring: _r, reloadDue: _d, ...rest } = state;
      return rest;
    }
    case 'verify':
      return state;
  }
}
