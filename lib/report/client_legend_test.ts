/**
 * The report's page script, run against a stand-in uPlot and DOM (no
 * browser here): line plots' legends show each series' last value without
 * hover, and 12 contexts get 12 distinct swatches, not a rainbow ramp.
 */
import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { runData } from "./data.ts";
import { renderReport } from "./html.ts";
import { testRecord } from "../testing/records.ts";

interface Built {
  opts: {
    legend: { show?: boolean };
    hooks: Record<string, ((u: unknown) => void)[]>;
  };
  data: (number | null)[][];
}

/** Run the page's last script with stand-ins; resolves to the plots made and the `.groups` legends. */
function runPage(html: string): { built: Built[]; groups: string[] } {
  const payload =
    /<script type="application\/json" id="kvbench-data">([^]*?)<\/script>/
      .exec(html)![1];
  const scripts = [...html.matchAll(/<script>([^]*?)<\/script>/g)];
  const code = scripts.at(-1)![1];
  const built: Built[] = [];
  const groups: string[] = [];
  const element = (selector: string) => {
    const el = { clientWidth: 600, innerHTML: "" };
    if (selector === ".groups") {
      Object.defineProperty(el, "innerHTML", {
        set: (v: string) => groups.push(v),
        get: () => "",
      });
    }
    return el;
  };
  const document = {
    getElementById: (id: string) =>
      id === "kvbench-data"
        ? { textContent: payload }
        : { querySelector: element },
    createElement: () => ({ getContext: () => ({}) }),
  };
  function uPlot(this: unknown, opts: Built["opts"], data: Built["data"]) {
    built.push({ opts, data });
    return { setSize() {} };
  }
  uPlot.join = (tables: (number | null)[][][]) => {
    const xs = [...new Set(tables.flatMap((t) => t[0] as number[]))].sort((
      a,
      b,
    ) => a - b);
    return [
      xs,
      ...tables.map((t) =>
        xs.map((x) => {
          const i = (t[0] as number[]).indexOf(x);
          return i < 0 ? null : t[1][i];
        })
      ),
    ];
  };
  new Function(
    "window",
    "document",
    "uPlot",
    "requestAnimationFrame",
    "devicePixelRatio",
    code,
  )(
    { addEventListener() {} },
    document,
    uPlot,
    () => {},
    1,
  );
  return { built, groups };
}

const run = (name: string, contexts: number, ttft: number) =>
  runData({
    source: name,
    records: {
      records: Array.from({ length: contexts * 2 }, (_, i) =>
        testRecord({
          session: i,
          sentAt: i * 100,
          firstTokenAt: i * 100 + ttft,
          endAt: i * 100 + ttft + 50,
          chunks: 3,
          completionTokens: 3,
          readGaps: [100, 100],
          promptTokens: 1000,
          cachedTokens: i >= contexts ? 900 : 0,
          tags: { context: i % contexts, question: 0 },
          runStartedAt: 0,
        })),
      reports: [],
      run: { startedAt: 0, elapsedMs: contexts * 200, stopReason: "duration" },
    },
  }, { name });

Deno.test("report page: a line plot's legend shows each series' last value until hovered", () => {
  const { built } = runPage(
    renderReport([run("on", 3, 50), run("off", 3, 700)]),
  );
  const lines = built.filter((b) => b.opts.hooks.setCursor !== undefined);
  ok(lines.length > 0, "no line plot with a legend");
  for (const { opts, data } of lines) {
    strictEqual(opts.legend.show, true);
    const calls: unknown[] = [];
    const u = {
      cursor: { idx: null as number | null },
      data,
      setLegend: (o: unknown) => calls.push(o),
    };
    opts.hooks.ready[0](u);
    const last = data.map((ys) => ys.findLastIndex((y) => y != null));
    deepStrictEqual(calls, [{ idxs: last }]);
    // While the cursor is on a point, the legend follows it.
    u.cursor.idx = 0;
    opts.hooks.setCursor[0](u);
    strictEqual(calls.length, 1);
  }
});

Deno.test("report page: 12 contexts get 12 swatches of distinct colours", () => {
  const { groups } = runPage(renderReport([run("one", 12, 50)]));
  ok(groups.length > 0, "no group legend");
  for (const legend of groups) {
    const colours = [...legend.matchAll(/background:([^"]+)"/g)].map((m) =>
      m[1]
    );
    strictEqual(colours.length, 12, legend);
    strictEqual(new Set(colours).size, 12, colours.join(" "));
    ok(!legend.includes("linear-gradient"), legend);
  }
});
