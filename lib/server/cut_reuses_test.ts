/**
 * The verdict's denominator at a run's end, from the figures of the run that
 * showed "recomputed 0.3%" (6 contexts of 32,014-token prompts, 420
 * completed reuses, 2 reuses cut by the stop before their first token: the
 * first scheduled, the second still waiting for GPU KV), recomputed by hand.
 */
import assert from "node:assert/strict";
import { benchmarkVerdict, ReuseTracker } from "./verdict.ts";
import { countedCutReuses } from "./cut_reuses.ts";
import { testRecord } from "../testing/records.ts";

const PROMPT = 32_014;
/** Whole 16-token blocks short of the last token: 2 000 blocks. */
const HITS = 32_000;

function run(): ReuseTracker {
  const t = new ReuseTracker();
  let at = 0;
  const add = (context: number, fields: Record<string, unknown> = {}) =>
    t.add(testRecord({
      tags: { context },
      sentAt: at,
      firstTokenAt: at + 50,
      endAt: at + 90,
      promptTokens: PROMPT,
      cachedTokens: HITS,
      completionTokens: 100,
      ...fields,
    }));
  for (let i = 0; i < 6 + 420; i++, at += 100) add(i % 6);
  // The stop cuts both in-flight reuses; the later-sent one ends first.
  const cut = {
    firstTokenAt: undefined,
    promptTokens: undefined,
    expectedPromptTokens: PROMPT,
    ok: false,
  };
  add(426 % 6, { ...cut, sentAt: at + 1 });
  add(427 % 6, { ...cut, sentAt: at });
  return t;
}

Deno.test("verdict: of two reuses cut by the run's end, only the one the server scheduled joins the reusable tokens", () => {
  const reuse = run().figures();
  assert.equal(reuse.reuses, 420);
  assert.equal(reuse.reusableTokens, 13_445_880); // 420 × 32 014
  assert.equal(reuse.cutReuses, 2);
  assert.deepEqual(reuse.cutReusePromptTokens, [PROMPT, PROMPT]);
  // The server: 426 lap-1 + completed reuses and 1 cut reuse scheduled;
  // offload hits 421 × 32 000 = 13 472 000, the run's summary.json figure.
  const offload = 421 * HITS;
  const prompt = 427 * PROMPT;
  const v = benchmarkVerdict(reuse, {
    split: { prompt, computed: prompt - offload, device: 0, offload },
  });
  // 13 472 000 / (13 445 880 + 32 014) = 13 472 000 / 13 477 894.
  assert.equal(v.reusableTokens, 13_477_894);
  assert.equal(v.offloadShare, 13_472_000 / 13_477_894);
  assert.ok(
    v.text.startsWith(
      "Verdict: the offload tier served 100.0% of the 13,477,894 reusable prompt tokens (13,445,880 of completed reuses, 32,014 of 1 reuse cut before its first token, whose hits the server counted when it scheduled it (1 more, which the server never scheduled (cut while still waiting, or refused): left out)) (GPU prefix cache 0.0%, recomputed 0.0%).",
    ),
    v.text,
  );
  // Both scheduled: both join.
  const both = benchmarkVerdict(reuse, {
    split: {
      prompt,
      computed: prompt - offload - HITS,
      device: 0,
      offload: offload + HITS,
    },
  });
  assert.equal(both.reusableTokens, 13_445_880 + 2 * PROMPT);
  assert.match(
    both.text,
    /64,028 of 2 reuses cut before their first token, whose hits the server counted when it scheduled them\)/,
  );
  // Neither scheduled: the hits (420 × 32 000) are within the completed reuses.
  const neither = benchmarkVerdict(reuse, {
    split: {
      prompt,
      computed: prompt - 420 * HITS,
      device: 0,
      offload: 420 * HITS,
    },
  });
  assert.equal(neither.reusableTokens, 13_445_880);
  assert.ok(!neither.text.includes("cut before"), neither.text);
});

Deno.test("countedCutReuses: the fewest earliest-sent cut reuses whose prompts cover the excess hits", () => {
  assert.deepEqual(countedCutReuses(1, [10, 20, 30]), { count: 1, tokens: 10 });
  assert.deepEqual(countedCutReuses(10.5, [10, 20, 30]), {
    count: 1,
    tokens: 10,
  });
  assert.deepEqual(countedCutReuses(11, [10, 20, 30]), {
    count: 2,
    tokens: 30,
  });
  assert.deepEqual(countedCutReuses(60, [10, 20, 30]), {
    count: 3,
    tokens: 60,
  });
  assert.equal(countedCutReuses(61, [10, 20, 30]), undefined);
  assert.equal(countedCutReuses(0.5, [10]), undefined);
  assert.equal(countedCutReuses(5, []), undefined);
});
