import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// There is no Docker engine on the machines that run these tests: the files are checked for what the deployment guide
// asks of them, and the image's build steps are the ones the tests run (pnpm deploy of this package, dist/cli.js).

const root = join(dirname(fileURLToPath(import.meta.url)), "../../..");
const read = (path: string) => readFileSync(join(root, path), "utf8");

describe("Dockerfile", () => {
  const dockerfile = read("Dockerfile");
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));

  it("runs the API as a non-root user on 0.0.0.0:18200", () => {
    const user = /^USER (\S+)$/m.exec(finalStage)?.[1];
    expect(user).toBeDefined();
    expect(["root", "0"]).not.toContain(user);
    expect(finalStage).toMatch(/^EXPOSE 18200$/m);
    expect(finalStage).toContain('CMD ["node", "dist/cli.js", "run", "api", "--host", "0.0.0.0"]');
    expect(finalStage).toMatch(/MCPSTORE_CONFIG=\/app\/config\/mcp\.json/);
  });

  it("runs node under tini, which passes signals on and reaps zombies", () => {
    expect(finalStage).toMatch(/apt-get install -y --no-install-recommends [^\n]*\btini\b/);
    // The exec form (JSON), so that tini's child is node itself and not a shell that would keep the signals.
    const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(finalStage)?.[1];
    expect(JSON.parse(entrypoint ?? "[]")).toEqual(["/usr/bin/tini", "-s", "--"]);
  });

  it("checks /health", () => {
    expect(finalStage).toMatch(/HEALTHCHECK .*\n\s+CMD curl -f http:\/\/localhost:18200\/health/);
    expect(finalStage).toMatch(/apt-get install -y --no-install-recommends curl/);
  });

  it("builds this package with the lockfile and deploys only its production dependencies", () => {
    expect(dockerfile).toContain("pnpm install --frozen-lockfile");
    expect(dockerfile).toContain("--filter=@mcpstore/cli...");
    expect(dockerfile).toContain("pnpm --filter @mcpstore/cli deploy --prod --legacy /app");
    const manifest = JSON.parse(read("apps/cli/package.json")) as { name: string; bin: Record<string, string> };
    expect(manifest.name).toBe("@mcpstore/cli");
    expect(manifest.bin.mcpstore).toBe("./dist/cli.js");
  });

  it("keeps secrets, state and host builds out of the context", () => {
    const ignored = read(".dockerignore").split("\n");
    for (const entry of ["**/node_modules", "**/dist", ".env", "**/.env", "config", ".git"]) expect(ignored).toContain(entry);
  });
});

describe("docker-compose.yml", () => {
  const compose = read("docker-compose.yml");

  it("health-checks /health and restarts the API", () => {
    expect(compose).toMatch(/healthcheck:\n\s+test: \["CMD", "curl", "-f", "http:\/\/localhost:18200\/health"\]/);
    expect(compose).toContain("restart: unless-stopped");
    expect(compose).toContain("MCPSTORE_CONFIG=/app/config/mcp.json");
    expect(compose).toContain("LOG_LEVEL=info");
  });

  it("runs the API with an init, and gives it time to stop its services", () => {
    expect(compose).toMatch(/^ {4}init: true$/m);
    expect(compose).toMatch(/^ {4}stop_grace_period: \d+s$/m);
  });

  it("requires an admin token and publishes the API on the host's loopback only", () => {
    expect(compose).toContain("MCPSTORE_ADMIN_TOKEN=${MCPSTORE_ADMIN_TOKEN:?");
    expect(compose).toContain('"127.0.0.1:18200:18200"');
  });

  it("has the nginx it refers to", () => {
    expect(compose).toContain("./deploy/nginx.conf:/etc/nginx/nginx.conf:ro");
    expect(read("deploy/nginx.conf")).toContain("proxy_pass http://mcpstore;");
  });

  it("has a cluster profile: Redis, two instances sharing it, nginx balancing them", () => {
    expect(compose).toMatch(/^ {2}redis:\n {4}image: redis:7/m);
    expect(compose).toMatch(/^ {2}mcpstore-1: &cluster-instance$/m);
    expect(compose).toMatch(/^ {2}mcpstore-2: \*cluster-instance$/m);
    expect(compose).toContain("MCPSTORE_REDIS_URL=redis://redis:6379");
    const nginx = read("deploy/nginx-cluster.conf");
    expect(nginx).toContain("server mcpstore-1:18200;");
    expect(nginx).toContain("server mcpstore-2:18200;");
  });
});
