/**
 * The verdict's split against the simulator's ground truth, for each engine
 * the simulator emulates × {the working set fits GPU, needs the offload
 * tier, exceeds both} × {one metrics URL, two URLs counting the same tokens,
 * a load-balanced URL}: within one point of the truth, or a line naming
 * what cannot be known; never a share outside 0–100 % or shares that do not
 * add up to 100 %. In-process (the simulator, kvbench's scraper) to stay
 * fast; tests/server_metrics_test.ts runs the same through cli.ts.
 */
import assert from "node:assert/strict";
import { startSimulator } from "../lib/sim/server.ts";
import {
  METRICS_FLAVORS,
  type MetricsFlavor,
} from "../lib/sim/metrics_flavors.ts";
import { approximateTokenIds } from "../lib/sim/token_count.ts";
import { MetricsScraper } from "../lib/server/scrape.ts";
import { type PromptSplit, promptSplit } from "../lib/server/attribution.ts";

const CONTEXTS = 6;
const LAPS = 3;
const prompt = (ctx: number) =>
  Array.from({ length: 60 }, (_, i) => `c${ctx}x${i}`).join(" ");
const T = approximateTokenIds(prompt(0)).length; // ≈ 300 tokens
const SIZES = {
  fits: { gpuKvTokens: 64 * T, offloadTokens: 64 * T },
  needs: { gpuKvTokens: 3 * T, offloadTokens: 64 * T },
  exceeds: { gpuKvTokens: 3 * T, offloadTokens: 2 * T },
} as const;
type Size = keyof typeof SIZES;
type Urls = "one" | "two" | "lb";

/** Flavors with a connector port counting the same tokens as the engine's. */
const CONNECTOR = new Set<MetricsFlavor>(["vllm-prefix", "vllm-by-source"]);

interface Outcome {
  split?: PromptSplit;
  notes: string[];
  truth: Record<string, number>;
  midProblems: number;
}

async function run(
  flavor: MetricsFlavor,
  size: Size,
  urls: Urls,
): Promise<Outcome> {
  await using sim = await startSimulator({
    timeScale: 0.002,
    seed: 1,
    ...SIZES[size],
    metricsFlavor: flavor,
    metricsReplicas: urls === "lb" ? 2 : 1,
  });
  const origin = new URL(sim.url).origin;
  const list = urls !== "two"
    ? [`${origin}/metrics`]
    : CONNECTOR.has(flavor)
    ? [`${origin}/metrics`, `${origin}/connector/metrics`]
    : [`${origin}/metrics`, `http://localhost:${sim.port}/metrics`];
  const scraper = new MetricsScraper(list);
  await scraper.scrape();
  let midProblems = 0;
  const send = (ctx: number) =>
    fetch(sim.url + "completions", {
      method: "POST",
      body: JSON.stringify({ prompt: prompt(ctx), max_tokens: 2 }),
    }).then((r) => r.json());
  for (let lap = 0; lap < LAPS; lap++) {
    for (let ctx = 0; ctx < CONTEXTS; ctx += 2) {
      // Two in flight, and a scrape while they run.
      const pending = [send(ctx), send(ctx + 1)];
      const mid = await scraper.scrape();
      if (promptSplit(mid.counters)?.problem) midProblems++;
      await Promise.all(pending);
    }
  }
  const last = await scraper.scrape();
  const s = sim.stats();
  const truth = {
    prompt: s.promptTokens,
    computed: s.promptTokens - s.gpuHitTokens - s.offloadHitTokens,
    device: s.gpuHitTokens,
    offload: s.offloadHitTokens,
    disk: s.diskHitTokens,
    host: s.offloadHitTokens - s.diskHitTokens,
  };
  return {
    split: promptSplit(last.counters),
    notes: last.notes,
    truth,
    midProblems,
  };
}

/** Shares in points of the prompt tokens. */
const pts = (part: number, whole: number) => part / whole * 100;

function check(o: Outcome, flavor: MetricsFlavor, urls: Urls): void {
  const label = `${flavor} ${urls}: ${JSON.stringify(o)}`;
  if (urls === "lb") {
    // Two replicas in turn: said, and left out, never added.
    assert.equal(o.split, undefined, label);
    assert.ok(
      o.notes.some((n) => /several servers answer this URL/.test(n)),
      label,
    );
    return;
  }
  const split = o.split!;
  assert.ok(split !== undefined, label);
  assert.equal(split.problem, undefined, label);
  const t = o.truth;
  // Every request finished: the tokens themselves, not only their shares.
  assert.equal(split.prompt, t.prompt, label);
  assert.equal(split.offload, t.offload, label);
  const parts: [string, number | undefined, number][] = [
    ["computed", split.computed, t.computed],
    ["device", split.device, t.device],
    ["offload", split.offload, t.offload],
  ];
  if (split.host !== undefined) {
    parts.push(["host", split.host, t.host], ["disk", split.disk, t.disk]);
  }
  let sum = 0;
  for (const [name, got, want] of parts) {
    assert.ok(got !== undefined, `${name} ${label}`);
    const share = pts(got, split.prompt);
    assert.ok(share >= 0 && share <= 100, `${name} ${share} ${label}`);
    assert.ok(
      Math.abs(share - pts(want, t.prompt)) <= 1,
      `${name}: ${share} vs truth ${pts(want, t.prompt)}: ${label}`,
    );
    if (name === "computed" || name === "device" || name === "offload") {
      sum += share;
    }
  }
  assert.ok(Math.abs(sum - 100) < 1e-6, `sum ${sum} ${label}`);
}

for (const flavor of METRICS_FLAVORS) {
  Deno.test(`offload matrix: ${flavor}`, async () => {
    for (const size of Object.keys(SIZES) as Size[]) {
      for (const urls of ["one", "two", "lb"] as Urls[]) {
        const outcome = await run(flavor, size, urls);
        check(outcome, flavor, urls);
        if (urls === "one") {
          // The tiers the size implies, by the truth itself.
          const t = outcome.truth;
          if (size === "fits") assert.equal(t.offload, 0, flavor);
          if (size === "needs") assert.ok(t.offload > 0, flavor);
          if (size === "exceeds") {
            // The cold lap is a third of the prompt tokens; most reuse is
            // recomputed too (an LRU tier smaller than the working set keeps
            // a few blocks of some contexts).
            assert.ok(
              t.computed > t.prompt * 0.75,
              `${flavor} ${size} ${JSON.stringify(t)}`,
            );
          }
        }
      }
    }
  });
}
