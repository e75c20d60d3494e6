import { randomUUID } from "node:crypto";

/** A namespace nobody used yet: each test gets an empty key space on the suite's Redis. */
export function freshNamespace(label = "test"): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 10 ms until it returns true, or fails after `timeoutMs`; resolves with the time it took. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what = "condition"): Promise<number> {
  const startedAt = Date.now();
  while (!(await check())) {
    if (Date.now() - startedAt > timeoutMs) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await sleep(10);
  }
  return Date.now() - startedAt;
}
