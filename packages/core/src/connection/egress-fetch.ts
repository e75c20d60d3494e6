/**
 * The fetch of a remote service whose destination an agent set: every connection it opens is checked against the
 * egress rules with the address it is about to connect to (the resolver's answer at that moment, not the one seen
 * when the service was added), so a name that rebinds to a private address is refused before any packet is sent.
 * Redirects are not followed: a redirect to an address the rules refuse would otherwise slip past them.
 */
import { isIP, type LookupFunction } from "node:net";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { Agent } from "undici";
import { ForbiddenError } from "../errors.js";
import { allowedByList, egressRefusal, portOf, refusedRange, type EgressPolicy } from "./egress-rules.js";

/** A guarded fetch and what closes its connection pool. */
export interface EgressFetch {
  fetch: FetchLike;
  close(): Promise<void>;
}

/** A fetch for `serviceName` at `baseUrl` that connects only where the egress rules allow. */
export function egressFetch(serviceName: string, baseUrl: string, policy: EgressPolicy): EgressFetch {
  const origin = new URL(baseUrl);
  const port = portOf(origin);
  // Called by the socket for every connection it opens to a host name (IP addresses are checked before fetching).
  const lookup: LookupFunction = (hostname, options, callback) => {
    policy.lookup(hostname).then(
      (addresses) => {
        for (const { address } of addresses) {
          const rule = refusedRange(address);
          if (rule !== undefined && !allowedByList(policy.allow, address, port)) return callback(egressRefusal(serviceName, origin, rule, address), "", 4);
        }
        if (addresses.length === 0) return callback(Object.assign(new Error(`${hostname} has no address`), { code: "ENOTFOUND" }), "", 4);
        if (options.all) return (callback as unknown as (error: null, all: typeof addresses) => void)(null, addresses);
        const first = addresses.find(({ family }) => options.family === undefined || options.family === 0 || family === options.family) ?? addresses[0]!;
        callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, "", 4),
    );
  };
  const agent = new Agent({ connect: { lookup } });
  const fetchGuarded: FetchLike = async (input, init) => {
    const url = new URL(String(input));
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const allowed = allowedByList(policy.allow, url.hostname, portOf(url));
    if (!allowed && isIP(host) !== 0) {
      const rule = refusedRange(host);
      if (rule !== undefined) throw egressRefusal(serviceName, url, rule);
    }
    // The dispatcher option is undici's (Node's fetch is undici); the DOM typings do not know it.
    const response = await fetch(url, { ...init, redirect: "manual", ...(allowed ? {} : { dispatcher: agent }) } as RequestInit);
    if (response.status >= 300 && response.status < 400 && response.headers.has("location")) {
      await response.body?.cancel().catch(() => undefined);
      throw new ForbiddenError({
        message: `Service "${serviceName}": ${url.host} answered with a redirect, which is not followed for a destination an agent set`,
        serviceName,
        details: { rule: "egress:redirect", host: url.host },
      });
    }
    return response;
  };
  return { fetch: fetchGuarded, close: () => agent.close() };
}
