/**
 * Tests send packets to 127.0.0.1 only. This guard, installed in a test process (see the `setupFiles` of the vitest
 * configs), makes that checkable: every socket connect to an address off loopback, and every host-name lookup by
 * the system resolver (a DNS packet) other than `localhost`, is recorded as a violation and turned into a refusal
 * before anything is sent (the connect goes to a closed loopback port instead; the lookup fails `ENOTFOUND`). A custom
 * `lookup` a socket is given (the store's egress guard with an injected resolver) is wrapped: addresses it answers
 * off loopback are violations too. Child processes are not covered: they are fixture servers and CLIs whose
 * addresses the tests give.
 */
import dns from "node:dns";
import { syncBuiltinESMExports } from "node:module";
import net, { isIP } from "node:net";

/** A connect or lookup that would have left this machine. */
export interface LoopbackViolation {
  kind: "connect" | "lookup";
  target: string;
}

const isLoopback = (address: string) => /^127\./.test(address) || address === "::1" || /^::ffff:127\./i.test(address);
const allowedName = (name: string) => name === "localhost" || name.endsWith(".localhost");

let installed: LoopbackViolation[] | undefined;

/** Installs the guard once per process; returns the list its violations are recorded in. */
export function installLoopbackGuard(): LoopbackViolation[] {
  if (installed) return installed;
  const violations: LoopbackViolation[] = [];
  installed = violations;

  type Lookup = (hostname: string, options: unknown, callback: (...args: unknown[]) => void) => void;
  const checkedLookup =
    (inner: Lookup): Lookup =>
    (hostname, options, callback) =>
      inner(hostname, options, (error, address, family) => {
        const addresses = Array.isArray(address) ? (address as Array<{ address: string }>).map((entry) => entry.address) : [address as string];
        const off = error ? undefined : addresses.find((candidate) => !isLoopback(candidate));
        if (off === undefined) return callback(error, address, family);
        violations.push({ kind: "connect", target: `${hostname} → ${off}` });
        callback(Object.assign(new Error(`loopback guard: ${hostname} resolved to ${off}, off loopback`), { code: "ENOTFOUND" }));
      });

  const connect = net.Socket.prototype.connect as (...args: unknown[]) => net.Socket;
  net.Socket.prototype.connect = function guardedConnect(this: net.Socket, ...args: unknown[]) {
    // `net.connect()` hands over its arguments normalised, as one array (with a marker symbol on it): look inside.
    const list = (Array.isArray(args[0]) ? args[0] : args) as unknown[];
    const options = (typeof list[0] === "object" && list[0] !== null ? list[0] : undefined) as Record<string, unknown> | undefined;
    // Unix sockets and pipes stay on the machine.
    if (options === undefined || options.path !== undefined) return connect.apply(this, args);
    const host = String(options.host ?? "localhost").replace(/^\[|\]$/g, "");
    if (isIP(host) !== 0) {
      if (isLoopback(host)) return connect.apply(this, args);
      violations.push({ kind: "connect", target: `${host}:${String(options.port)}` });
      list[0] = { ...options, host: "127.0.0.1", port: 1 };
    } else if (!allowedName(host)) {
      list[0] = { ...options, lookup: checkedLookup((options.lookup as Lookup | undefined) ?? (dns.lookup as unknown as Lookup)) };
    }
    return connect.apply(this, args);
  } as typeof net.Socket.prototype.connect;

  // The system resolver: a name other than localhost would send a DNS query off the machine.
  const lookup = dns.lookup.bind(dns) as unknown as Lookup;
  const refuse = (hostname: string) => {
    violations.push({ kind: "lookup", target: hostname });
    return Object.assign(new Error(`loopback guard: getaddrinfo ENOTFOUND ${hostname} (no DNS in tests)`), { code: "ENOTFOUND", hostname });
  };
  (dns as unknown as { lookup: Lookup }).lookup = (hostname, options, callback) => {
    const done = (typeof options === "function" ? options : callback) as (...args: unknown[]) => void;
    if (isIP(hostname) !== 0 || allowedName(hostname)) return lookup(hostname, options, callback);
    process.nextTick(() => done(refuse(hostname)));
  };
  const promisesLookup = dns.promises.lookup.bind(dns.promises);
  (dns.promises as unknown as { lookup: unknown }).lookup = (hostname: string, options?: unknown) =>
    isIP(hostname) !== 0 || allowedName(hostname) ? promisesLookup(hostname, options as dns.LookupAllOptions) : Promise.reject(refuse(hostname));
  // ESM named imports of node:dns and node:dns/promises see the patched functions too.
  syncBuiltinESMExports();
  return violations;
}
