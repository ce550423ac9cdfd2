/**
 * The report's KV-source bar shows the offload tiers the engine names
 * (summary.json `server.split` host, disk, remote, not named), and no bar
 * for counters that disagree.
 */
import assert from "node:assert/strict";
import { runData } from "../lib/report/data.ts";
import { renderReport } from "../lib/report/html.ts";
import { syntheticRun } from "./_support/synthetic.ts";

function html(split: Record<string, unknown>): string {
  const run = syntheticRun({ requests: 30 });
  const summary = structuredClone(run.summary) as Record<string, unknown>;
  (summary.server as Record<string, unknown>).split = split;
  return renderReport([runData({
    source: "/runs/tiers",
    records: { records: run.records, reports: [], run: run.end },
    info: run.info,
    metrics: run.metrics,
    summary,
  }, { name: "tiers" })]);
}

Deno.test("report: the split bar names host and disk tiers", () => {
  const page = html({
    prompt: 1000,
    computed: 100,
    device: 150,
    offload: 750,
    host: 500,
    disk: 250,
    remote: 0,
    external: 0,
  });
  assert.match(
    page,
    /KV source \(server counters\): 1,000 prompt tokens: .*10\.0% computed.*15\.0% GPU prefix cache.*50\.0% offload: host memory.*25\.0% offload: disk<\/p>/,
  );
  assert.ok(!page.includes("offload: remote"));
});

Deno.test("report: counters that disagree give no split bar", () => {
  const page = html({
    prompt: 1000,
    computed: -50,
    device: 1050,
    offload: 0,
    problem: "the counters disagree",
  });
  assert.ok(!page.includes("KV source (server counters): 1,000"));
});

Deno.test("report: llama.cpp's cached tokens are named as its slot KV or --cache-ram", () => {
  const run = syntheticRun({ requests: 30 });
  const summary = structuredClone(run.summary) as Record<string, unknown>;
  const server = summary.server as Record<string, unknown>;
  server.engine = "llamacpp";
  server.split = { prompt: 1000, computed: 300, cached: 700 };
  const info = structuredClone(run.info) as Record<string, unknown>;
  info.server = { engine: "llamacpp", version: "b7000" };
  const page = renderReport([runData({
    source: "/runs/llama",
    records: { records: run.records, reports: [], run: run.end },
    info: info as typeof run.info,
    metrics: run.metrics,
    summary,
  }, { name: "llama" })]);
  assert.match(
    page,
    /70\.0% cached \(slot KV or the host-RAM prompt cache, --cache-ram: llama\.cpp does not say which\)/,
  );
});
