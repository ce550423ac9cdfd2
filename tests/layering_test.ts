/**
 * The layering the README's ARCHITECTURE section describes, checked on every
 * import of every library file (JSDoc examples are comments, not imports):
 * a file may import its own area and the areas below it, never above.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/**
 * What each area may import besides itself. Engine layers, bottom up:
 * foundations (types, rng, timer, format, io, models), then metrics, text and
 * transport, then the OpenAI protocol, then the runner.
 */
const ALLOWED: Record<string, readonly string[]> = {
  "engine/types": [],
  "engine/rng": [],
  "engine/timer": [],
  "engine/format": [],
  "engine/io": [],
  "engine/models": [],
  "engine/metrics": ["engine/types", "engine/format"],
  "engine/text": ["engine/io", "engine/rng"],
  "engine/transport": ["engine/io"],
  "engine/openai": [
    "engine/types",
    "engine/timer",
    "engine/text",
    "engine/transport",
  ],
  // The server's view (Prometheus metrics, engine detection): on its own.
  "engine/server": [],
  "engine/run": [
    "engine/types",
    "engine/rng",
    "engine/timer",
    "engine/io",
    "engine/openai",
    "engine/transport",
  ],
  shapes: ["engine/types", "engine/rng", "engine/run"],
  "workloads/benchmark": ["engine/*", "shapes"],
  "workloads/trie": ["engine/*", "shapes"],
  // The simulator stands on its own: random numbers and model sizes only.
  sim: ["engine/rng", "engine/models", "engine/text"],
  testing: ["engine/*", "sim"],
  // Reports read run files: the engine's derivations and the workloads' verdicts.
  report: ["engine/*", "workloads/*"],
  cli: ["engine/*", "shapes", "workloads/*", "sim", "report"],
  "cli.ts": ["cli"],
  "mod.ts": ["engine/*", "shapes", "workloads/*", "sim", "report"],
};

function area(path: string): string {
  const parts = path.split("/");
  if (parts[0] === "engine") return `engine/${parts[1].replace(/\.ts$/, "")}`;
  if (parts[0] === "workloads") return `workloads/${parts[1]}`;
  return parts[0];
}

const allows = (from: string, to: string): boolean =>
  from === to ||
  ALLOWED[from].some((a) =>
    a.endsWith("/*") ? to.startsWith(a.slice(0, -1)) : a === to
  );

async function* libraryFiles(dir: URL, prefix = ""): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = prefix + entry.name;
    if (entry.isDirectory) {
      if (
        ["engine", "shapes", "workloads", "sim", "testing", "cli", "report"]
          .includes(
            path,
          ) || prefix !== ""
      ) {
        yield* libraryFiles(new URL(`${entry.name}/`, dir), `${path}/`);
      }
    } else if (
      path.endsWith(".ts") && !/_(test|bench)\.ts$/.test(path) &&
      (prefix !== "" || path === "mod.ts" || path === "cli.ts")
    ) yield path;
  }
}

Deno.test("library files import only their own layer and the layers below", async () => {
  const violations: string[] = [];
  let checked = 0;
  for await (const file of libraryFiles(ROOT)) {
    const from = area(file);
    assert.ok(from in ALLOWED, `${file}: area ${from} is not in ALLOWED`);
    const text = await Deno.readTextFile(new URL(file, ROOT));
    for (
      const m of text.matchAll(/^(?:import|export)[^;]*?from\s+"(\.[^"]+)"/gms)
    ) {
      const target = new URL(m[1], new URL(file, ROOT)).pathname
        .slice(ROOT.pathname.length);
      const to = area(target);
      if (
        to === "tests" || (to === "testing" && from !== "testing") ||
        !allows(from, to)
      ) {
        violations.push(`${file} imports ${target}`);
      }
      checked++;
    }
  }
  assert.ok(checked > 100, `only ${checked} imports checked`);
  assert.deepEqual(violations, []);
});
