/**
 * The figures `deno task demo` compares: one benchmark run's summary and
 * records, and the side-by-side table of two runs.
 *
 * @module
 */

/** What the comparison shows of one `kvbench benchmark` run. */
export interface RunFigures {
  /** Requests completed. */
  requests: number;
  /** Completed requests per second. */
  qps: number;
  /** Mean TTFT of all completed requests, seconds. */
  ttft: number;
  /** Mean TTFT of the requests after each context's first (the reuses), seconds. */
  reuseTtft: number;
  /** Σ cached / Σ prompt tokens. */
  hitRate: number;
  /** Failed requests. */
  failed: number;
}

/**
 * Figures of a run from its `--output` summary (parsed) and its `--records`
 * file (text): reuses are the records of a context after its first one.
 */
export function runFigures(
  summary: {
    requests: { completed: number; failed: number };
    qps: number | null;
    mean_ttft_s: number | null;
    cache_hit_rate: number | null;
  },
  records: string,
): RunFigures {
  const seen = new Set<number>();
  let reuseSum = 0, reuseN = 0;
  for (const line of records.split("\n")) {
    if (!line) continue;
    const r = JSON.parse(line);
    if (typeof r.session !== "number") continue; // a report mark, the run's line
    const first = !seen.has(r.tags.context);
    seen.add(r.tags.context);
    if (r.ok && !first && r.firstTokenAt !== undefined) {
      reuseSum += (r.firstTokenAt - r.sentAt) / 1000;
      reuseN++;
    }
  }
  return {
    requests: summary.requests.completed,
    qps: summary.qps ?? 0,
    ttft: summary.mean_ttft_s ?? NaN,
    reuseTtft: reuseN ? reuseSum / reuseN : NaN,
    hitRate: summary.cache_hit_rate ?? NaN,
    failed: summary.requests.failed,
  };
}

/** The two runs side by side. */
export function renderComparison(on: RunFigures, off: RunFigures): string {
  const fixed = (x: number, digits: number): string =>
    Number.isFinite(x) ? x.toFixed(digits) : "-";
  const percent = (x: number): string =>
    Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : "-";
  const rows = [
    ["", "offload on", "offload off"],
    ["requests completed", String(on.requests), String(off.requests)],
    ["QPS", fixed(on.qps, 2), fixed(off.qps, 2)],
    ["mean TTFT (s)", fixed(on.ttft, 2), fixed(off.ttft, 2)],
    [
      "mean TTFT of reuses (s)",
      fixed(on.reuseTtft, 2),
      fixed(off.reuseTtft, 2),
    ],
    [
      "cache hit rate",
      percent(on.hitRate),
      percent(off.hitRate),
    ],
    ["failed requests", String(on.failed), String(off.failed)],
  ];
  const widths = [0, 1, 2].map((c) =>
    Math.max(...rows.map((r) => r[c].length))
  );
  return rows.map((r) =>
    `  ${r[0].padEnd(widths[0])}  ${r[1].padStart(widths[1])}  ${
      r[2].padStart(widths[2])
    }`
  )
    .join("\n");
}
