import { stdioFixtureConfig } from "@mcpstore/testing";
import { afterEach, describe, expect, expectTypeOf, it } from "vitest";
import {
  definePlugin,
  MCPStore,
  PluginError,
  PluginVetoError,
  StoreClosedError,
  ValidationError,
  type Plugin,
  type PluginHooks,
  type ServiceInfo,
  type ServiceState,
  type SetupStoreOptions,
  type StoreEventName,
  type ToolCallStartDecision,
} from "../src/index.js";
import { captureLogger } from "./helpers.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function storeWith(options: SetupStoreOptions = {}) {
  const logger = captureLogger();
  const store = await MCPStore.setupStore({ mcpConfigFile: false, logger, ...options });
  cleanups.push(() => store.close());
  return { store, logger, context: store.forStore() };
}

async function withFixture(options: SetupStoreOptions = {}) {
  const setup = await storeWith(options);
  await setup.context.addService(stdioFixtureConfig("fx"));
  await setup.context.waitService("fx");
  return setup;
}

const text = (result: { content: Array<{ type: string; text?: string }> }) => result.content.map((part) => part.text).join("");

describe("plugin types", () => {
  it("types hook names and payloads from one map", () => {
    expectTypeOf<keyof PluginHooks>().toEqualTypeOf<StoreEventName>();
    expectTypeOf<StoreEventName>().toEqualTypeOf<
      "service:added" | "service:removed" | "service:state-changed" | "tools:refreshed" | "tool:call-start" | "tool:call-end" | "tool:call-error"
    >();
    definePlugin({
      name: "typed",
      order: "pre",
      hooks: {
        "service:added": (event) => {
          expectTypeOf(event.serviceName).toEqualTypeOf<string>();
          expectTypeOf(event.agentId).toEqualTypeOf<string | undefined>();
          expectTypeOf(event.service).toEqualTypeOf<ServiceInfo>();
        },
        "service:removed": (event) => expectTypeOf(event.serviceName).toEqualTypeOf<string>(),
        "service:state-changed": (event) => {
          expectTypeOf(event.previous).toEqualTypeOf<ServiceState>();
          expectTypeOf(event.state).toEqualTypeOf<ServiceState>();
        },
        "tools:refreshed": (event) => expectTypeOf(event.added).toEqualTypeOf<string[]>(),
        "tool:call-start": (event) => {
          expectTypeOf(event.toolName).toEqualTypeOf<string>();
          expectTypeOf(event.arguments).toEqualTypeOf<Readonly<Record<string, unknown>>>();
          return { arguments: { ...event.arguments } };
        },
        "tool:call-end": (event) => {
          expectTypeOf(event.durationMs).toEqualTypeOf<number>();
          expectTypeOf(event.isError).toEqualTypeOf<boolean>();
          expectTypeOf(event.arguments).toEqualTypeOf<Record<string, unknown>>();
        },
        "tool:call-error": async (event) => expectTypeOf(event.error).toEqualTypeOf<Error>(),
      },
      setup: ({ store, logger }) => {
        expectTypeOf(store).toEqualTypeOf<MCPStore>();
        expectTypeOf(logger.info).toBeFunction();
        return () => {};
      },
    });
    expectTypeOf<ToolCallStartDecision>().toEqualTypeOf<{ arguments: Record<string, unknown> } | { veto: string }>();
    // @ts-expect-error: not an event
    definePlugin({ name: "typo", hooks: { "tool:called": () => {} } });
    // @ts-expect-error: a tool:call-start hook returns nothing, new arguments or a veto
    definePlugin({ name: "decider", hooks: { "tool:call-start": () => ({ allow: false }) } });
    // @ts-expect-error: order is pre or post
    definePlugin({ name: "order", order: "middle" });
    expectTypeOf(MCPStore.prototype.on<"tool:call-end">).returns.toEqualTypeOf<() => void>();
    expectTypeOf(MCPStore.prototype.use).parameter(0).toEqualTypeOf<Plugin>();
    const extended = definePlugin({ name: "extended", extra: 1 });
    expectTypeOf(extended.extra).toEqualTypeOf<number>();
  });
});

describe("plugins", () => {
  it("run pre, then normal in registration order, then post; plugins added later keep that order", async () => {
    const seen: string[] = [];
    const observer = (label: string, order?: "pre" | "post"): Plugin =>
      definePlugin({
        name: label,
        ...(order ? { order } : {}),
        hooks: {
          "tool:call-start": () => void seen.push(`${label} start`),
          "tool:call-end": () => void seen.push(`${label} end`),
        },
      });
    const { store, context } = await withFixture({ plugins: [observer("post-1", "post"), observer("normal-1"), observer("pre-1", "pre")] });
    store.on("tool:call-end", () => void seen.push("store.on end"));
    await store.use(observer("normal-2"));
    await store.use(observer("pre-2", "pre"));
    await store.use(observer("post-2", "post"));
    await context.callTool("fx_echo", { text: "x" });
    expect(seen).toEqual([
      "pre-1 start",
      "pre-2 start",
      "normal-1 start",
      "normal-2 start",
      "post-1 start",
      "post-2 start",
      "pre-1 end",
      "pre-2 end",
      "normal-1 end",
      "store.on end",
      "normal-2 end",
      "post-1 end",
      "post-2 end",
    ]);
  });

  it("sees service events with redacted configs", async () => {
    const secret = "sk-plugin-secret-4711";
    const payloads: Array<{ name: string; payload: unknown }> = [];
    const hooks: PluginHooks = {};
    for (const name of ["service:added", "service:state-changed", "tools:refreshed", "service:removed"] as const) {
      (hooks as Record<string, (payload: unknown) => void>)[name] = (payload) => void payloads.push({ name, payload });
    }
    const { context } = await storeWith({ plugins: [definePlugin({ name: "watcher", hooks })] });
    await context.addService({ ...stdioFixtureConfig("fx"), env: { API_KEY: secret } });
    await context.waitService("fx");
    await context.removeService("fx");
    expect(payloads.map((entry) => entry.name)).toEqual(["service:added", "tools:refreshed", "service:state-changed", "service:state-changed", "service:removed"]);
    expect(payloads[0]?.payload).toMatchObject({ serviceName: "fx", service: { name: "fx", config: { env: { API_KEY: "***" } } } });
    expect(JSON.stringify(payloads)).not.toContain(secret);
  });

  it("lets a tool:call-start hook veto a call: the caller gets a PluginVetoError naming the plugin", async () => {
    const later: string[] = [];
    const errors: unknown[] = [];
    const { store, context } = await withFixture({
      plugins: [
        definePlugin({
          name: "policy",
          hooks: { "tool:call-start": ({ originalName }) => (originalName === "echo" ? undefined : { veto: `${originalName} is not allowed` }) },
        }),
        definePlugin({ name: "later", hooks: { "tool:call-start": ({ toolName }) => void later.push(toolName) } }),
      ],
    });
    const ended: string[] = [];
    store.on("tool:call-end", (event) => void ended.push(event.toolName));
    store.on("tool:call-error", (event) => void errors.push(event.error));
    const error = await context.callTool("fx_add", { a: 1, b: 2 }).catch((caught: unknown) => caught);
    expect(PluginVetoError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      code: "PLUGIN_VETO",
      pluginName: "policy",
      reason: "add is not allowed",
      toolName: "fx_add",
      serviceName: "fx",
      message: 'Plugin "policy" vetoed the call of fx_add: add is not allowed',
    });
    expect(errors).toEqual([error]);
    expect(later).toEqual([]);
    expect(ended).toEqual([]);
    expect(text(await context.callTool("fx_echo", { text: "allowed" }))).toBe("allowed");
    expect(later).toEqual(["fx_echo"]);
  });

  it("lets tool:call-start hooks rewrite the arguments in series, and validates what they return", async () => {
    const seenByObservers: unknown[] = [];
    const { store, context } = await withFixture({
      plugins: [
        definePlugin({
          name: "upper",
          hooks: { "tool:call-start": (event) => (event.originalName === "echo" ? { arguments: { text: String(event.arguments.text).toUpperCase() } } : undefined) },
        }),
        definePlugin({
          name: "suffix",
          hooks: { "tool:call-start": async (event) => (event.originalName === "echo" ? { arguments: { text: `${String(event.arguments.text)}!` } } : undefined) },
        }),
        definePlugin({
          name: "breaker",
          hooks: { "tool:call-start": (event) => (event.originalName === "add" ? { arguments: { a: "one", b: 2 } } : undefined) },
        }),
      ],
    });
    store.on("tool:call-start", (event) => void seenByObservers.push(event.arguments));
    const callerArgs = { text: "hello" };
    expect(text(await context.callTool("fx_echo", callerArgs))).toBe("HELLO!");
    expect(callerArgs).toEqual({ text: "hello" });
    expect(seenByObservers).toEqual([{ text: "HELLO!" }]);

    const error = await context.callTool("fx_add", { a: 1, b: 2 }).catch((caught: unknown) => caught);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as ValidationError).message).toContain('Plugin "breaker" rewrote the arguments into invalid ones');
    expect((error as ValidationError).details).toMatchObject({ pluginName: "breaker", issues: [{ path: "a" }] });
  });

  it("stops a call whose tool:call-start hook throws, or mutates the frozen arguments, with a PluginError", async () => {
    const { context } = await withFixture({
      plugins: [
        definePlugin({
          name: "broken-policy",
          hooks: {
            "tool:call-start": (event) => {
              if (event.originalName === "add") throw new Error("policy store unavailable");
              if (event.originalName === "echo") (event.arguments as Record<string, unknown>).text = "mutated";
            },
          },
        }),
      ],
    });
    const thrown = await context.callTool("fx_add", { a: 1, b: 2 }).catch((caught: unknown) => caught);
    expect(PluginError.isInstance(thrown)).toBe(true);
    expect(thrown).toMatchObject({ code: "PLUGIN_ERROR", pluginName: "broken-policy", message: expect.stringContaining("policy store unavailable") });
    const mutated = await context.callTool("fx_echo", { text: "x" }).catch((caught: unknown) => caught);
    expect(PluginError.isInstance(mutated)).toBe(true);
    expect(text(await context.callTool("fx_sleep", { ms: 1 }))).toBe("slept 1");
  });

  it("logs an observer hook that throws or rejects, and calls and the store keep working", async () => {
    const boom = () => {
      throw new Error("observer bug");
    };
    const { store, context, logger } = await withFixture({
      plugins: [
        definePlugin({
          name: "clumsy",
          hooks: {
            "service:added": boom,
            "service:state-changed": boom,
            "tools:refreshed": boom,
            "tool:call-end": boom,
            "tool:call-error": async () => {
              throw new Error("async observer bug");
            },
          },
        }),
      ],
    });
    const ended: string[] = [];
    store.on("tool:call-end", boom);
    store.on("tool:call-end", (event) => void ended.push(event.toolName));
    expect(text(await context.callTool("fx_echo", { text: "still works" }))).toBe("still works");
    expect((await context.callTool("fx_fail", {})).isError).toBe(true);
    await expect(context.callTool("fx_sleep", { ms: 5_000 }, { timeoutMs: 50 })).rejects.toThrow();
    await context.addService(stdioFixtureConfig("second"));
    await context.waitService("second");
    expect(text(await context.callTool("second_echo", { text: "again" }))).toBe("again");
    expect(ended).toEqual(["fx_echo", "fx_fail", "second_echo"]);
    await new Promise((resolve) => setTimeout(resolve, 10));
    const errors = logger.entries.filter((entry) => entry.level === "error");
    expect(errors.some((entry) => entry.fields.plugin === "clumsy" && entry.fields.event === "tool:call-end")).toBe(true);
    expect(errors.some((entry) => entry.fields.plugin === "clumsy" && entry.fields.error === "async observer bug")).toBe(true);
    expect(errors.some((entry) => entry.fields.plugin === undefined && entry.fields.event === "tool:call-end")).toBe(true);
    expect(errors.some((entry) => entry.fields.event === "service:added")).toBe(true);
  });

  it("runs setup with the store, and teardowns on close, last added first, even when one fails", async () => {
    const steps: string[] = [];
    const plugin = (name: string, failTeardown = false) =>
      definePlugin({
        name,
        setup: async ({ store, logger }) => {
          steps.push(`setup ${name} ${(await store.forStore().listServices()).length}`);
          logger.info({}, "ready");
          return async () => {
            steps.push(`teardown ${name}`);
            if (failTeardown) throw new Error("teardown bug");
          };
        },
      });
    const { store, logger } = await storeWith({ plugins: [plugin("first"), plugin("second", true)] });
    await store.use(plugin("third"));
    expect(steps).toEqual(["setup first 0", "setup second 0", "setup third 0"]);
    expect(logger.entries.filter((entry) => entry.message === "ready").map((entry) => entry.fields.plugin)).toEqual(["first", "second", "third"]);
    await store.close();
    await store.close();
    expect(steps.slice(3)).toEqual(["teardown third", "teardown second", "teardown first"]);
    expect(logger.entries.some((entry) => entry.level === "error" && entry.fields.plugin === "second" && entry.fields.error === "teardown bug")).toBe(true);
    await expect(store.use(plugin("late"))).rejects.toSatisfy(StoreClosedError.isInstance);
  });

  it("undoes a plugin whose setup was still running when the store closed", async () => {
    const { store } = await storeWith();
    let release = () => {};
    let tornDown = false;
    const pending = store.use(
      definePlugin({
        name: "slow",
        setup: async () => {
          await new Promise<void>((resolve) => (release = resolve));
          return () => void (tornDown = true);
        },
      }),
    );
    await store.close();
    release();
    await expect(pending).rejects.toSatisfy(StoreClosedError.isInstance);
    expect(tornDown).toBe(true);
  });

  it("rejects bad plugins, and a setup that fails fails setupStore with a PluginError", async () => {
    const { store } = await storeWith({ plugins: [definePlugin({ name: "one" })] });
    await expect(store.use(definePlugin({ name: "one" }))).rejects.toSatisfy(ValidationError.isInstance);
    await expect(store.use({ name: "" })).rejects.toThrow(/non-empty/);
    await expect(store.use({ name: "typo", hooks: { "tool:called": () => {} } } as unknown as Plugin)).rejects.toThrow(/unknown hook "tool:called"/);
    await expect(store.use({ name: "order", order: "middle" } as unknown as Plugin)).rejects.toThrow(/order must be/);

    let tornDown = false;
    const failing = MCPStore.setupStore({
      mcpConfigFile: false,
      logger: captureLogger(),
      plugins: [
        definePlugin({ name: "fine", setup: () => () => void (tornDown = true) }),
        definePlugin({
          name: "broken",
          setup: () => {
            throw new Error("no database");
          },
        }),
      ],
    });
    const error = await failing.catch((caught: unknown) => caught);
    expect(PluginError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ pluginName: "broken", message: 'Plugin "broken" failed to set up: no database' });
    expect(tornDown).toBe(true);
  });

  it("store.on returns its unsubscribe function", async () => {
    const { store, context } = await withFixture();
    const seen: string[] = [];
    const off = store.on("tool:call-end", (event) => void seen.push(event.toolName));
    await context.callTool("fx_echo", { text: "a" });
    off();
    off();
    await context.callTool("fx_echo", { text: "b" });
    expect(seen).toEqual(["fx_echo"]);
  });
});
