// Zone facts for one run over many services: a zone's SOA, NS, addresses, DNSKEY and negative
// TTL are asked once per run, not once per service (at 1,000 services in one zone, 6 of every 7.5
// queries were the same zone discovered again). Made by the run and passed down, never global:
// the next run must see a changed zone.
import { formatServer } from './address.js';
import type { Ask } from './query.js';
import type { ServerAddress, ZoneInfo } from './types.js';
import { abs, discoverZone, inZone, resolveNameServers } from './zone.js';


export class ZoneCache {
  /** server -> zones it told us about */
  private readonly zones = new Map<string, ZoneInfo[]>();
  private readonly servers = new Map<string, Promise<ServerAddress[]>>();
  /** Discoveries run one after another, so concurrent services in one new zone find it once. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Zones discovered (not served from the cache), for tests and the benchmark. */
  discovered = 0;

  constructor(private readonly ask?: Ask) {}

  /** The zone `name` is in, as `server` tells; `zone` given: that zone (checked by discovery). */
  zoneOf(name: string, server: ServerAddress, zone?: string): Promise<ZoneInfo> {
    const found = this.known(name, server, zone);
    if (found) return Promise.resolve(found);
    const next = this.queue.then(async () => {
      const again = this.known(name, server, zone);
      if (again) return again;
      const info = await discoverZone(zone ?? name, server, { ask: this.ask });
      this.discovered++;
      const key = formatServer(server);
      this.zones.set(key, [...(this.zones.get(key) ?? []), info]);
      return info;
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** The addresses of the zone's name servers (resolveNameServers), once per zone and server. */
  nameServers(info: ZoneInfo, server: ServerAddress, port = server.port): Promise<ServerAddress[]> {
    const key = `${info.zone} ${formatServer(server)} ${port}`;
    let found = this.servers.get(key);
    if (!found) {
      found = resolveNameServers(info, server, port, { ask: this.ask });
      this.servers.set(key, found);
    }
    return found;
  }

  /** The deepest known zone of `server` holding `name` (a child zone wins over its parent). */
  private known(name: string, server: ServerAddress, zone?: string): ZoneInfo | undefined {
    const candidates = (this.zones.get(formatServer(server)) ?? []).filter((z) => (zone ? z.zone === abs(zone) : inZone(abs(name), z.zone)));
    return candidates.sort((a, b) => b.zone.length - a.zone.length)[0];
  }
}
