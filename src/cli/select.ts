// --id for the commands that act on every known service (status, check): it selects one.
import { UserError } from '../errors.js';
import type { ServiceSettings } from '../config/types.js';

/** The service named by `id`, or all when no id is given; an unknown id names the known ones. */
export function selectService(services: ServiceSettings[], id: string | undefined, exitCode?: number): ServiceSettings[] {
  if (id === undefined) return services;
  const hit = services.filter((s) => s.id === id);
  if (hit.length > 0) return hit;
  const known = services.map((s) => s.id).join(', ') || 'none';
  throw new UserError(`--id ${id}: no such service (known: ${known})`, exitCode === undefined ? {} : { exitCode });
}
