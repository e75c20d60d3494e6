import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The layout of src/: folders by concern, no runtime import cycle between them, no file much over 400 lines, and a
// header comment in each folder saying what it owns.

const src = resolve(dirname(fileURLToPath(import.meta.url)), "../src");
const FACADE = new Set(["index.ts", "mcp-store.ts", "service-context.ts", "conformance.ts"]);
const MAX_LINES = 420;

function files(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    return statSync(path).isDirectory() ? files(path) : name.endsWith(".ts") ? [path] : [];
  });
}

/** The unit a file belongs to: its folder, or `facade` / `primitives` for the files at the top of src/. */
function unitOf(path: string): string {
  const rel = relative(src, path);
  if (!rel.includes("/")) return FACADE.has(rel) ? "facade" : "primitives";
  return rel.split("/")[0]!;
}

/** Relative imports that exist at run time (type-only imports and exports are erased by the compiler). */
function runtimeImports(path: string): string[] {
  const text = readFileSync(path, "utf8");
  const found: string[] = [];
  for (const match of text.matchAll(/^\s*(import|export)\s+(type\s+)?([^;]*?)\s*from\s*["'](\.{1,2}\/[^"']+)\.js["']/gms)) {
    if (match[2]) continue;
    const names = match[3] ?? "";
    // `import { type A, type B }` is type-only too.
    const inner = /\{([\s\S]*)\}/.exec(names)?.[1];
    if (inner !== undefined && !/^[^{]*\w/.test(names.replace(/\{[\s\S]*\}/, "")) && inner.split(",").every((part) => !part.trim() || part.trim().startsWith("type "))) continue;
    found.push(resolve(dirname(path), `${match[4]}.ts`));
  }
  return found;
}

describe("the layout of packages/core/src", () => {
  const all = files(src);

  it("has no runtime import cycle between its folders, and no folder imports the store's facade", () => {
    const graph = new Map<string, Set<string>>();
    const edges: string[] = [];
    for (const file of all) {
      const from = unitOf(file);
      for (const target of runtimeImports(file)) {
        const to = unitOf(target);
        if (from === to) continue;
        if (!graph.has(from)) graph.set(from, new Set());
        graph.get(from)!.add(to);
        edges.push(`${relative(src, file)} → ${relative(src, target)}`);
      }
    }
    const intoFacade = edges.filter((edge) => !edge.startsWith("index.ts") && !FACADE.has(edge.split(" → ")[0]!) && FACADE.has(edge.split(" → ")[1]!));
    expect(intoFacade).toEqual([]);
    const cycles: string[] = [];
    const visit = (unit: string, path: string[]) => {
      if (path.includes(unit)) {
        cycles.push([...path.slice(path.indexOf(unit)), unit].join(" → "));
        return;
      }
      for (const next of graph.get(unit) ?? []) visit(next, [...path, unit]);
    };
    for (const unit of graph.keys()) visit(unit, []);
    expect(cycles).toEqual([]);
    expect(graph.get("primitives") ?? new Set()).toEqual(new Set());
  });

  it(`keeps every file under about ${MAX_LINES} lines`, () => {
    const long = all.map((file) => ({ file: relative(src, file), lines: readFileSync(file, "utf8").split("\n").length })).filter((entry) => entry.lines > MAX_LINES);
    expect(long).toEqual([]);
  });

  it("says in one file of each folder what the folder owns", () => {
    const folders = [...new Set(all.map(unitOf))].filter((unit) => unit !== "facade" && unit !== "primitives");
    expect(folders.sort()).toEqual(["catalogue", "config", "connection", "events", "plugins", "registry", "tools"]);
    for (const folder of folders) {
      const documented = all.filter((file) => unitOf(file) === folder).some((file) => readFileSync(file, "utf8").includes(`${folder}/:`));
      expect(documented, `a header comment starting "${folder}/:" in src/${folder}`).toBe(true);
    }
  });
});
