import dns from "node:dns";
import { lookup as importedLookup } from "node:dns/promises";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { installLoopbackGuard } from "../src/loopback-guard.js";

// 0.0.0.0 stands for "an address off loopback" here: the guard counts it as one, and were the guard broken, a connect
// to it would still stay on this machine. Names are refused before the system resolver is called.
const originalLookup = dns.lookup;

const connectError = (options: net.NetConnectOpts) =>
  new Promise<NodeJS.ErrnoException>((resolve, reject) => {
    const socket = net.connect(options);
    socket.once("connect", () => {
      socket.destroy();
      reject(new Error("connected"));
    });
    socket.once("error", resolve);
  });

describe("loopback guard", () => {
  const violations = installLoopbackGuard();

  it("turns a connect off loopback into a refused one on 127.0.0.1:1, and records it", async () => {
    const error = await connectError({ host: "0.0.0.0", port: 9 });
    expect(error.code).toBe("ECONNREFUSED");
    expect(error.message).toContain("127.0.0.1:1");
    expect(violations.splice(0)).toEqual([{ kind: "connect", target: "0.0.0.0:9" }]);
  });

  it("checks what a socket's own lookup answers", async () => {
    const lookup = ((_host: string, _options: unknown, callback: (error: null, address: string, family: number) => void) => callback(null, "0.0.0.0", 4)) as unknown as net.LookupFunction;
    const error = await connectError({ host: "rebind.test", port: 9, lookup });
    expect(error.code).toBe("ENOTFOUND");
    expect(violations.splice(0)).toEqual([{ kind: "connect", target: "rebind.test → 0.0.0.0" }]);
  });

  it("refuses host names to the system resolver, callback and promise forms, ESM imports included", async () => {
    expect(dns.lookup).not.toBe(originalLookup);
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => dns.lookup("guard-test.invalid", (caught) => resolve(caught)));
    expect(error?.code).toBe("ENOTFOUND");
    await expect(importedLookup("guard-test.invalid")).rejects.toMatchObject({ code: "ENOTFOUND" });
    expect(violations.splice(0)).toEqual([
      { kind: "lookup", target: "guard-test.invalid" },
      { kind: "lookup", target: "guard-test.invalid" },
    ]);
  });

  it("lets loopback through", async () => {
    const server = net.createServer((socket) => socket.end());
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve, reject) => net.connect({ host: "127.0.0.1", port }).once("connect", function (this: net.Socket) { this.destroy(); resolve(); }).once("error", reject));
    await new Promise<void>((resolve, reject) => net.connect({ host: "localhost", port, family: 4 }).once("connect", function (this: net.Socket) { this.destroy(); resolve(); }).once("error", reject));
    server.close();
    expect(violations).toEqual([]);
  });
});
