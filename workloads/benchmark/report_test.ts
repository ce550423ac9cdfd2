import assert from "node:assert/strict";
import { benchmarkSummaryJson } from "./report.ts";
import { BenchmarkMetrics } from "./metrics.ts";
import { sizeBenchmark } from "./sizing.ts";
import { LatencyDistributions } from "../../lib/metrics/distributions.ts";
import { testRecord } from "../../lib/testing/records.ts";
import { trieSummaryJson } from "../trie/report.ts";
import { TrieResult } from "../trie/metrics.ts";

const DOC = new URL("../../docs/summary_json.md", import.meta.url);

// Every key path of a JSON object, but not inside the free-form maps.
function paths(value: unknown, prefix = ""): string[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return [];
  }
  const out: string[] = [];
  for (const [key, v] of Object.entries(value)) {
    const path = prefix === "" ? key : `${prefix}.${key}`;
    out.push(path);
    if (
      ["params", "failures_by_kind", "per_trace", "server"].includes(key) ||
      /^p\d/.test(key)
    ) continue;
    // A distribution's own keys are described once, below the table.
    if (prefix.endsWith("distributions") && /_(ms|per_s)$/.test(key)) continue;
    out.push(...paths(v, path));
  }
  return out;
}

Deno.test("docs/summary_json.md documents every key benchmark and trie write", async () => {
  const doc = await Deno.readTextFile(DOC);
  const metrics = new BenchmarkMetrics();
  const distributions = new LatencyDistributions({ slos: { ttftMs: 100 } });
  const record = testRecord({
    runStartedAt: 0,
    firstTokenAt: 50,
    endAt: 150,
    chunks: 3,
    completionTokens: 3,
    promptTokens: 100,
    cachedTokens: 50,
    expectedPromptTokens: 100,
    readGaps: [500, 500],
  });
  metrics.add(record);
  distributions.add(record);
  const sizing = sizeBenchmark("m", {
    offloadSizeGib: 100,
    bytesPerToken: 98304,
  });
  const json = benchmarkSummaryJson(sizing, {
    final: metrics.report(1),
    summary: {
      startedAt: 0,
      endedAt: 1000,
      wallTimeMs: 1000,
      stopReason: "duration",
      sessions: { started: 1, completed: 1, failed: 0, cancelled: 0 },
      requests: { sent: 1, ok: 1, failed: 0, aborted: 0 },
    },
    distributions,
  }, { percentiles: [50], transport: "http1", server: { engine: "vllm" } });
  const trie = trieSummaryJson(new TrieResult(), {});
  // Named whole, by its last one or two parts, or as the parent of some.
  const named = (path: string): boolean => {
    const parts = path.split(".");
    return [path, parts.at(-1)!, parts.slice(-2).join(".")].some((p) =>
      doc.includes(`\`${p}\``)
    ) || doc.includes(`\`${parts.at(-1)}.`);
  };
  const missing = [...paths(json), ...paths(trie)].filter((p) => !named(p));
  assert.deepEqual(missing, []);
  // The keys say their units: no camelCase anywhere.
  assert.deepEqual(
    [...paths(json), ...paths(trie)].filter((p) => /[a-z][A-Z]/.test(p)),
    [],
  );
});
