/**
 * Where an agent may point a remote service. By default not at this machine, the local network or the cloud's
 * metadata address: loopback, link-local (169.254.0.0/16, fe80::/10), private ranges (10/8, 172.16/12, 192.168/16,
 * fc00::/7) and the unspecified addresses (`0.0.0.0`, `[::]`). An admin's allow-list of `host[:port]` globs opens
 * exceptions. A host name is judged by every address it resolves to, and again each time a connection is opened (see
 * egress-fetch.ts), so that a name that answers a public address first and a private one later is refused too.
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, isIP } from "node:net";
import { ForbiddenError } from "../errors.js";

/** Resolves a host name to its addresses (default: the system resolver, `dns.lookup` with `all: true`). */
export type EgressLookup = (hostname: string) => Promise<ReadonlyArray<{ address: string; family: number }>>;

/** The egress rules of agent-set destinations. */
export interface EgressPolicy {
  /** `host[:port]` globs (`*` is any run of characters) an agent may use although they are local or private. */
  allow: readonly string[];
  /** How host names are resolved, for the check and for connecting. */
  lookup: EgressLookup;
}

/** The system resolver, every address. */
export const systemLookup: EgressLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** The refused ranges, each with the rule name a refusal quotes. */
const RANGES: ReadonlyArray<{ rule: string; v4?: [string, number][]; v6?: [string, number][] }> = [
  { rule: "loopback", v4: [["127.0.0.0", 8]], v6: [["::1", 128]] },
  { rule: "link-local", v4: [["169.254.0.0", 16]], v6: [["fe80::", 10]] },
  { rule: "private", v4: [["10.0.0.0", 8], ["172.16.0.0", 12], ["192.168.0.0", 16]], v6: [["fc00::", 7]] },
  { rule: "unspecified", v4: [["0.0.0.0", 8]], v6: [["::", 128]] },
];

const BLOCKS = RANGES.map(({ rule, v4 = [], v6 = [] }) => {
  const list = new BlockList();
  for (const [network, prefix] of v4) list.addSubnet(network, prefix, "ipv4");
  for (const [network, prefix] of v6) list.addSubnet(network, prefix, "ipv6");
  return { rule, list };
});

/** An IPv4 address written as IPv6 (`::ffff:10.0.0.1`, `::ffff:a00:1`) as the IPv4 address it is. */
function unmapped(address: string): { address: string; family: "ipv4" | "ipv6" } {
  const mapped = /^::ffff:(.+)$/i.exec(address)?.[1];
  if (mapped !== undefined) {
    if (isIP(mapped) === 4) return { address: mapped, family: "ipv4" };
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(mapped);
    if (hex) {
      const value = (parseInt(hex[1]!, 16) << 16) | parseInt(hex[2]!, 16);
      return { address: [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join("."), family: "ipv4" };
    }
  }
  return { address, family: isIP(address) === 4 ? "ipv4" : "ipv6" };
}

/** The rule an IP address falls under (`loopback`, `link-local`, `private`, `unspecified`), or undefined when public. */
export function refusedRange(ip: string): string | undefined {
  const { address, family } = unmapped(ip.replace(/^\[|\]$/g, ""));
  return BLOCKS.find(({ list }) => list.check(address, family))?.rule;
}

const globCache = new Map<string, RegExp>();

function globMatches(glob: string, text: string): boolean {
  let pattern = globCache.get(glob);
  if (!pattern) {
    pattern = new RegExp(`^${glob.toLowerCase().replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);
    globCache.set(glob, pattern);
  }
  return pattern.test(text.toLowerCase());
}

/** An allow-list entry as host glob and port (`*` or none: any): `host`, `host:port`, `[v6]:port`, a bare IPv6. */
function parseEntry(entry: string): { host: string; port: string | undefined } {
  const trimmed = entry.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+|\*))?$/.exec(trimmed);
  if (bracketed) return { host: bracketed[1]!, port: bracketed[2] };
  const colons = trimmed.split(":").length - 1;
  if (colons !== 1) return { host: trimmed, port: undefined };
  const [host, port] = trimmed.split(":") as [string, string];
  return { host, port };
}

/** Whether `host` on `port` matches an allow-list entry (`host` or `host:port`; IPv6 as `[::1]:8080`). */
export function allowedByList(allow: readonly string[], host: string, port: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "");
  return allow.some((entry) => {
    const parsed = parseEntry(entry);
    return globMatches(parsed.host, bare) && (parsed.port === undefined || parsed.port === "*" || parsed.port === port);
  });
}

/** The port a URL connects to. */
export const portOf = (url: URL): string => url.port || (url.protocol === "https:" ? "443" : "80");

/** The refusal of `target` (a URL, or the address a name resolved to) under `rule`. */
export function egressRefusal(serviceName: string, url: URL, rule: string, address?: string): ForbiddenError {
  const where = address !== undefined ? `${url.hostname} resolves to ${address}, ` : "";
  return new ForbiddenError({
    message: `Service "${serviceName}": agents may not point a service at ${url.host} (${where}a ${rule} address); an admin can allow it with --allow-egress`,
    serviceName,
    details: { rule: `egress:${rule}`, host: url.host },
  });
}

/**
 * Checks an agent-set URL before it is stored: an IP address by its range, a host name by every address it resolves
 * to; entries of the allow-list pass. Throws a {@link ForbiddenError} naming the rule. Nothing is sent anywhere.
 */
export async function checkEgress(serviceName: string, rawUrl: string, policy: EgressPolicy): Promise<void> {
  const url = new URL(rawUrl);
  const port = portOf(url);
  if (allowedByList(policy.allow, url.hostname, port)) return;
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (isIP(host) !== 0) {
    const rule = refusedRange(host);
    if (rule !== undefined) throw egressRefusal(serviceName, url, rule);
    return;
  }
  let addresses: ReadonlyArray<{ address: string }>;
  try {
    addresses = await policy.lookup(host);
  } catch (error) {
    throw new ForbiddenError({
      message: `Service "${serviceName}": the host ${host} does not resolve, so it cannot be checked against the egress rules`,
      serviceName,
      details: { rule: "egress:unresolvable", host: url.host },
      cause: error,
    });
  }
  for (const { address } of addresses) {
    const rule = refusedRange(address);
    if (rule !== undefined && !allowedByList(policy.allow, address, port)) throw egressRefusal(serviceName, url, rule, address);
  }
}
