/**
 * The layering the README's ARCHITECTURE section describes, checked on every
 * import of every library file (JSDoc examples are comments, not imports):
 * a file may import its own area and the areas below it, never above.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

/**
 * What each area may import besides itself. `lib/` layers, bottom up:
 * foundations (types, rng, timer, format, io, models), then metrics, text and
 * transport, then the OpenAI protocol, then the runner; shapes, the server's
 * view and the simulator beside them; reports and the command machinery on top.
 * Workloads stand on `lib/`; `lib/` never imports a workload: the commands
 * that serve every workload (merge, k8s) get the registry (`workloads/mod.ts`)
 * from `cli.ts`.
 */
const ALLOWED: Record<string, readonly string[]> = {
  "lib/types": [],
  "lib/rng": [],
  "lib/timer": [],
  "lib/format": [],
  "lib/io": [],
  "lib/models": ["model_configs.json", "lib/io"],
  "lib/metrics": ["lib/types", "lib/format"],
  "lib/text": ["lib/io", "lib/rng"],
  "lib/transport": ["lib/io"],
  "lib/openai": ["lib/types", "lib/timer", "lib/text", "lib/transport"],
  // The server's view (Prometheus metrics, engine detection, attribution,
  // the verdict): the records' types and figures only.
  "lib/server": ["lib/types", "lib/metrics"],
  "lib/run": [
    "lib/types",
    "lib/rng",
    "lib/timer",
    "lib/io",
    "lib/openai",
    "lib/transport",
  ],
  "lib/shapes": ["lib/types", "lib/rng", "lib/run"],
  // The simulator stands on its own: random numbers and model sizes only.
  "lib/sim": ["lib/rng", "lib/models", "lib/text"],
  // Is the reused KV right: greedy requests, cold references, the verdict.
  "lib/verify": ["lib/types", "lib/openai"],
  "lib/testing": ["lib/*"],
  // Reports read run files: the library's derivations and the verdict.
  "lib/report": ["lib/*"],
  "lib/cli": ["lib/*"],
  "workloads/benchmark": ["lib/*"],
  "workloads/trie": ["lib/*"],
  "workloads/replay": ["lib/*"],
  // The registry lists every workload; the command line takes them from it.
  "workloads/mod.ts": ["lib/cli", "workloads/*"],
  "cli.ts": ["lib/cli", "workloads/mod.ts"],
  "mod.ts": ["lib/*", "workloads/*"],
};

const LIBRARY_DIRS = ["lib", "workloads"];

function area(path: string): string {
  const parts = path.split("/");
  if (parts[0] === "lib") return `lib/${parts[1].replace(/\.ts$/, "")}`;
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
      if (LIBRARY_DIRS.includes(path) || prefix !== "") {
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
        to === "tests" || to === "_tools" ||
        (to === "lib/testing" && from !== "lib/testing") ||
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
