/**
 * The verdict's shares recomputed by hand from records and a split: the
 * documented denominator (prompts of completed reuses), reuses failed after
 * their prefill added and said, other traffic and a shard said instead of
 * a share, no speed-up without per-request cached_tokens.
 */
import assert from "node:assert/strict";
import { benchmarkVerdict, ReuseTracker } from "./verdict.ts";
import { testRecord } from "../testing/records.ts";
import type { RequestRecord } from "../types.ts";

/** 4 contexts of 1 000 tokens, 3 laps; lap 1 cold, laps 2–3 reuses. */
function tracker(
  fields: (context: number, lap: number) => Partial<RequestRecord>,
): ReuseTracker {
  const t = new ReuseTracker();
  for (let lap = 0; lap < 3; lap++) {
    for (let context = 0; context < 4; context++) {
      t.add(testRecord({
        tags: { context },
        firstTokenAt: lap === 0 ? 900 : 100,
        endAt: 1000,
        promptTokens: 1000,
        cachedTokens: lap === 0 ? 0 : 992,
        completionTokens: 2,
        ...fields(context, lap),
      }));
    }
  }
  return t;
}

Deno.test("verdict: shares of the completed reuses' prompt tokens, by hand", () => {
  const reuse = tracker(() => ({})).figures();
  assert.equal(reuse.reusableTokens, 8_000); // 8 reuses × 1 000
  // The server: 12 000 prompt tokens, 1 000 GPU hits, 6 000 offload
  // (4 000 host, 2 000 disk), 5 000 computed (4 000 cold + 1 000).
  const v = benchmarkVerdict(reuse, {
    split: {
      prompt: 12_000,
      computed: 5_000,
      device: 1_000,
      offload: 6_000,
      host: 4_000,
      disk: 2_000,
      remote: 0,
      external: 0,
    },
  });
  assert.equal(v.offloadShare, 0.75); // 6 000 / 8 000
  assert.equal(v.deviceShare, 0.125); // 1 000 / 8 000
  assert.deepEqual(v.tierShares, {
    host: 0.5,
    disk: 0.25,
    remote: 0,
    external: 0,
  });
  assert.match(
    v.text,
    /^Verdict: the offload tier \(host memory 50\.0%, disk 25\.0%\) served 75\.0% of the 8,000 reusable prompt tokens \(GPU prefix cache 12\.5%, recomputed 12\.5%\)\./,
  );
  // 0.10 s against 0.90 s: 9.0× faster, labelled as the first lap's.
  assert.match(
    v.text,
    /against 0\.90 s for the first lap's cold prefills \(4 requests, under the first lap's load, not the same queue\): 9\.0× faster/,
  );
});

Deno.test("verdict: reuses failed after their prefill are in the denominator, and said", () => {
  // Context 3's last reuse is cut after its first token.
  const reuse = tracker((context, lap) =>
    context === 3 && lap === 2 ? { ok: false } : {}
  ).figures();
  assert.equal(reuse.reusableTokens, 7_000);
  assert.equal(reuse.failedReuseTokens, 1_000);
  // The server served the failed one from the offload tier too: 7 000.
  const v = benchmarkVerdict(reuse, {
    split: { prompt: 12_000, computed: 4_000, device: 1_000, offload: 7_000 },
  });
  assert.equal(v.offloadShare, 0.875); // 7 000 / (7 000 + 1 000)
  assert.match(
    v.text,
    /of the 8,000 reusable prompt tokens \(7,000 of completed reuses, 1,000 of 1 reuse that ended after its prefill without completing \(failed, or stopped by the run's end\)\)/,
  );
});

Deno.test("verdict: the clauses agree in number: 1 reuse … its prefill, 2 reuses … their prefill", () => {
  // Contexts 2 and 3's last reuses are cut after their first token.
  const failed = tracker((context, lap) =>
    context >= 2 && lap === 2 ? { ok: false } : {}
  ).figures();
  assert.equal(failed.failedReuses, 2);
  const v = benchmarkVerdict(failed, {
    split: { prompt: 12_000, computed: 4_000, device: 0, offload: 8_000 },
  });
  assert.match(
    v.text,
    /\(6,000 of completed reuses, 2,000 of 2 reuses that ended after their prefill without completing \(failed, or stopped by the run's end\)\)/,
  );
  // Contexts 2 and 3's last reuses cut before their first token.
  const cut = tracker((context, lap) =>
    context >= 2 && lap === 2
      ? {
        ok: false,
        firstTokenAt: undefined,
        promptTokens: undefined,
        expectedPromptTokens: 1000,
      }
      : {}
  ).figures();
  const w = benchmarkVerdict(cut, {
    split: { prompt: 12_000, computed: 4_000, device: 0, offload: 8_000 },
  });
  assert.match(
    w.text,
    /\(6,000 of completed reuses, 2,000 of 2 reuses cut before their first token, whose hits the server counted when it scheduled them\)/,
  );
});

Deno.test("verdict: more cache hits than this run's reuses: the share is not known, never 100 % by construction", () => {
  const reuse = tracker(() => ({})).figures();
  // Another client's 10 000 prompt tokens, 9 000 of them hits.
  const v = benchmarkVerdict(reuse, {
    split: { prompt: 22_000, computed: 5_000, device: 1_000, offload: 16_000 },
  });
  assert.equal(v.offloadShare, undefined);
  assert.match(
    v.text,
    /not known: the server's caches served 17,000 prompt tokens, more than the 8,000 reusable prompt tokens \(the server counted 22,000 prompt tokens against this run's 12,000: other traffic\); of the server's cache hits, 94\.1% came from the offload tier/,
  );
});

Deno.test("verdict: on a shard, the counters are the whole server's", () => {
  const reuse = tracker(() => ({})).figures();
  const v = benchmarkVerdict(reuse, {
    split: { prompt: 24_000, computed: 10_000, device: 2_000, offload: 12_000 },
    shard: true,
  });
  assert.equal(v.offloadShare, undefined);
  assert.match(
    v.text,
    /^Verdict: not known for this shard: the server's counters are the whole server's \(24,000 prompt tokens against this shard's 12,000\); the merged run \(kvbench merge\) gives the split\./,
  );
});

Deno.test("verdict: no per-request cached_tokens: reuses are not classified, no speed-up", () => {
  const reuse = tracker(() => ({ cachedTokens: undefined })).figures();
  assert.deepEqual(reuse.hitTtftMs, []);
  const v = benchmarkVerdict(reuse, {
    split: { prompt: 12_000, computed: 12_000, device: 0, offload: 0 },
  });
  assert.equal(v.offloadShare, 0);
  assert.match(v.text, /recomputed 100\.0%/);
  assert.match(
    v.text,
    /The server reports no per-request cached_tokens, so reuses served from cache cannot be told from recomputed ones: no speed-up is given\./,
  );
  assert.ok(!/faster|slower/.test(v.text));
});

Deno.test("verdict: llama.cpp names no tier; counters that disagree give no share", () => {
  const reuse = tracker(() => ({})).figures();
  const llama = benchmarkVerdict(reuse, {
    split: { prompt: 12_000, computed: 4_500, cached: 7_500 },
    engine: "llamacpp",
  });
  assert.equal(llama.offloadShare, undefined);
  assert.match(
    llama.text,
    /served 93\.8% of the 8,000 reusable prompt tokens from cache, without saying which tier \(llama\.cpp counts tokens reused from the slot's KV and from its host-RAM prompt cache, --cache-ram, as one number\); recomputed 6\.3%/,
  );
  const bad = benchmarkVerdict(reuse, {
    split: {
      prompt: 12_000,
      computed: -1_000,
      device: 13_000,
      offload: 0,
      problem: "the counters disagree",
    },
  });
  assert.equal(bad.offloadShare, undefined);
  assert.match(
    bad.text,
    /^Verdict: which tier served the reuse is not known \(the counters disagree\)/,
  );
});

Deno.test("verdict: offload bandwidth from the server's kv_offload counters", () => {
  const reuse = tracker(() => ({})).figures();
  const v = benchmarkVerdict(reuse, {
    split: { prompt: 12_000, computed: 4_000, device: 0, offload: 8_000 },
    counters: { offloadLoadBytes: 3_355_443_200, offloadLoadSeconds: 0.8124 },
  });
  // 3.355 GB / 0.8124 s = 4.13 GB/s.
  assert.match(
    v.text,
    /The offload tier loaded 3\.36 GB in 0\.81 s of transfers \(4\.13 GB\/s/,
  );
});

Deno.test("verdict: reuses cut before their first token count only when the server's hits need them, and said", () => {
  // Context 3's last reuse is cut by the run's end before its first token
  // (aborted); the server had scheduled it and counted its 1 000 hits.
  const reuse = tracker((context, lap) =>
    context === 3 && lap === 2
      ? {
        ok: false,
        firstTokenAt: undefined,
        promptTokens: undefined,
        expectedPromptTokens: 1000,
      }
      : {}
  ).figures();
  assert.equal(reuse.cutReuseTokens, 1_000);
  const v = benchmarkVerdict(reuse, {
    split: { prompt: 12_000, computed: 4_000, device: 0, offload: 8_000 },
  });
  assert.equal(v.offloadShare, 1); // 8 000 / (7 000 + 1 000)
  assert.match(
    v.text,
    /of the 8,000 reusable prompt tokens \(7,000 of completed reuses, 1,000 of 1 reuse cut before its first token, whose hits the server counted when it scheduled it\)/,
  );
  // Hits within the completed reuses: the cut one is left out.
  const within = benchmarkVerdict(reuse, {
    split: { prompt: 12_000, computed: 5_000, device: 0, offload: 7_000 },
  });
  assert.equal(within.offloadShare, 1); // 7 000 / 7 000
  assert.match(within.text, /of the 7,000 reusable prompt tokens \(GPU/);
});

Deno.test("verdict: with reuses both served and recomputed, the speed-up compares them at the same load", () => {
  // Contexts 0 and 1 come back from cache (TTFT 100 ms); 2 and 3 are
  // recomputed (cached 0, TTFT 700 ms) in the same laps.
  const reuse = tracker((context, lap) =>
    lap > 0 && context >= 2 ? { cachedTokens: 0, firstTokenAt: 700 } : {}
  ).figures();
  assert.deepEqual(reuse.missTtftMs, [700, 700, 700, 700]);
  const v = benchmarkVerdict(reuse, {
    split: { prompt: 12_000, computed: 8_000, device: 0, offload: 4_000 },
  });
  // 0.70 s against 0.10 s: 7.0×, not the first lap's 9.0×.
  assert.match(
    v.text,
    /Reuses served from cache had a mean TTFT of 0\.10 s \(4 requests\) against 0\.70 s for reuses recomputed in the same laps \(4 requests, at the same load\): 7\.0× faster\./,
  );
});

Deno.test("verdict: a forced run repeats the pre-flight's refusal and its fix, never advises a longer run", () => {
  const refusal =
    "the working set exceeds the server's offload tier (0.50 GiB): every reuse would be recomputed and the run would measure no offload hit; size the run for the server's tier with --offload-size 0.49";
  // No context came back: the pre-flight, not "run longer than one lap".
  const none = benchmarkVerdict(new ReuseTracker().figures(), {
    forced: refusal,
  });
  assert.equal(
    none.text,
    `Verdict: no context came back within the run, and a longer run would not measure the offload tier either: the pre-flight found that ${refusal}.`,
  );
  // Reuses, all recomputed: the shares, then the pre-flight's word.
  const reuse = tracker((_, lap) => ({
    firstTokenAt: 900,
    cachedTokens: lap === 0 ? 0 : 0,
  })).figures();
  const recomputed = benchmarkVerdict(reuse, {
    split: { prompt: 12_000, computed: 12_000, device: 0, offload: 0 },
    forced: refusal,
  });
  assert.equal(recomputed.offloadShare, 0);
  assert.ok(
    recomputed.text.endsWith(
      `The pre-flight warned before the run: ${refusal}.`,
    ),
    recomputed.text,
  );
  // Without a forced refusal, the lap advice stays.
  assert.match(
    benchmarkVerdict(new ReuseTracker().figures()).text,
    /run longer than one lap of the contexts\.$/,
  );
});
