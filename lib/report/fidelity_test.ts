/**
 * A replay's fidelity in the report: fidelity.jsonl read from the run
 * directory, the plot arrays and the mismatch summary derived from it (pinned
 * to hand-computed values), both plots and the table in the page, nothing of
 * it for a run without the file.
 */
import assert from "node:assert/strict";
import { loadRun, runData } from "./data.ts";
import { fidelityData, type FidelityRow, fidelityTable } from "./fidelity.ts";
import { renderReport } from "./html.ts";
import { plotSpecs } from "./plots.ts";
import { testRecord } from "../testing/records.ts";

// Five requests, out of order as a file may hold them: request 3 reported no
// usage (unknown on both counts), request 4 reported prompt_tokens only.
const ROWS: FidelityRow[] = [
  {
    request: 2,
    intendedTokens: 672,
    promptTokens: 672,
    theoreticalCached: 512,
    cachedTokens: 640,
  },
  {
    request: 0,
    intendedTokens: 655,
    promptTokens: 655,
    theoreticalCached: 0,
    cachedTokens: 0,
  },
  {
    request: 1,
    intendedTokens: 1000,
    promptTokens: 1070,
    theoreticalCached: 512,
    cachedTokens: 512,
  },
  { request: 3, intendedTokens: 300, theoreticalCached: 0 },
  { request: 4, intendedTokens: 400, promptTokens: 390, theoreticalCached: 0 },
];

async function runDir(rows?: FidelityRow[]): Promise<string> {
  const dir = await Deno.makeTempDir();
  const records = [0, 1, 2].map((i) =>
    testRecord({
      session: i,
      sentAt: i * 100,
      firstTokenAt: i * 100 + 20,
      endAt: i * 100 + 50,
      chunks: 2,
      completionTokens: 2,
      runStartedAt: 0,
      tags: { trace_request: i },
    })
  );
  await Deno.writeTextFile(
    `${dir}/records.jsonl`,
    records.map((r) => JSON.stringify(r) + "\n").join(""),
  );
  await Deno.writeTextFile(
    `${dir}/run.json`,
    JSON.stringify({ command: "replay" }),
  );
  if (rows !== undefined) {
    await Deno.writeTextFile(
      `${dir}/fidelity.jsonl`,
      rows.map((r) => JSON.stringify(r) + "\n").join(""),
    );
  }
  return dir;
}

// deno-lint-ignore no-explicit-any
function embedded(html: string): any {
  const m =
    /<script type="application\/json" id="kvbench-data">([^]*?)<\/script>/
      .exec(html);
  assert.ok(m, "no embedded data");
  return JSON.parse(m[1]);
}

Deno.test("fidelity: plot arrays sorted by x, unknowns left out, summary by hand", () => {
  const data = fidelityData(ROWS);
  // Requests with cached_tokens: 2 (512→640), 0 (0→0), 1 (512→512).
  assert.deepEqual(data.cached, {
    theory: [0, 512, 512],
    server: [0, 512, 640],
  });
  // Requests with prompt_tokens: 2, 0, 1, 4.
  assert.deepEqual(data.length, {
    intended: [400, 655, 672, 1000],
    prompt: [390, 655, 672, 1070],
  });
  assert.deepEqual(data.diagonal, { cached: [0, 640], length: [390, 1070] });
  assert.deepEqual(data.summary, {
    requests: 5,
    withPromptTokens: 4,
    lengthMismatches: 2, // requests 1 (+70) and 4 (−10)
    lengthDrift: 60,
    intendedTokens: 672 + 655 + 1000 + 400,
    withCachedTokens: 3,
    cachedMismatches: 1, // request 2
    theoreticalCached: 1024,
    reportedCached: 1152,
    cachedIntendedTokens: 672 + 655 + 1000,
    reportedPromptTokens: 672 + 655 + 1070,
  });
});

Deno.test("fidelity: a server that reported no usage leaves both plots out, the table unknown", () => {
  const data = fidelityData([{
    request: 0,
    intendedTokens: 10,
    theoreticalCached: 0,
  }]);
  assert.deepEqual(data.cached, { theory: [], server: [] });
  assert.deepEqual(data.diagonal, { cached: [], length: [] });
  const html = renderReport([runData({
    source: "r",
    records: { records: [], reports: [] },
    fidelity: [{ request: 0, intendedTokens: 10, theoreticalCached: 0 }],
  }, { name: "r" })]);
  assert.ok(!html.includes('id="plot-fidelity'));
  assert.ok(
    html.includes(
      '<td class="run">r</td><td>1</td><td>unknown</td><td>unknown</td><td>unknown</td><td>unknown</td><td>unknown</td>',
    ),
  );
});

Deno.test("fidelity: loadRun reads fidelity.jsonl; the page has both plots and the table", async () => {
  const dir = await runDir(ROWS);
  try {
    const run = await loadRun(dir, { name: "replay" });
    assert.deepEqual(run.fidelity, fidelityData(ROWS));
    const specs = plotSpecs([run]).filter((s) => s.id.includes("fidelity"));
    assert.deepEqual(specs.map((s) => [s.id, s.xLabel, s.yLabel]), [
      [
        "plot-fidelity-cached",
        "theoretical cached tokens (tokens)",
        "reported cached_tokens (tokens)",
      ],
      [
        "plot-fidelity-length",
        "intended prompt length, input_length (tokens)",
        "reported prompt_tokens (tokens)",
      ],
    ]);
    assert.deepEqual(specs[0].series.map((s) => [s.label, s.x, s.y]), [
      ["replay", [0, "fidelity", "cached", "theory"], [
        0,
        "fidelity",
        "cached",
        "server",
      ]],
      ["y = x", [0, "fidelity", "diagonal", "cached"], [
        0,
        "fidelity",
        "diagonal",
        "cached",
      ]],
    ]);
    const html = renderReport([run]);
    assert.ok(html.includes('id="plot-fidelity-cached"'));
    assert.ok(html.includes('id="plot-fidelity-length"'));
    const page = embedded(html);
    assert.deepEqual(page.runs[0].fidelity.cached, {
      theory: [0, 512, 512],
      server: [0, 512, 640],
    });
    assert.deepEqual(page.runs[0].fidelity.length.prompt, [
      390,
      655,
      672,
      1070,
    ]);
    assert.ok(
      page.plots.some((p: { id: string }) => p.id === "plot-fidelity-length"),
    );
    // The summary: drift +60 of 2727 intended tokens = +2.2%; theory 1024 of
    // 2327 = 44.0%, server 1152 of 2397 = 48.1%.
    assert.ok(
      html.includes(
        '<td class="run">replay</td><td>5</td><td>2 of 4</td><td>+60 (+2.2%)</td><td>1 of 3</td><td>1024 (44.0%)</td><td>1152 (48.1%)</td>',
      ),
      html.slice(html.indexOf('id="fidelity"'), html.indexOf("</table>")),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fidelity: a run without fidelity.jsonl has no fidelity plot or table", async () => {
  const dir = await runDir();
  try {
    const run = await loadRun(dir);
    assert.equal(run.fidelity, undefined);
    const html = renderReport([run]);
    assert.ok(!html.includes("plot-fidelity"));
    assert.ok(!html.includes('id="fidelity"'));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fidelity: a malformed fidelity.jsonl is refused with its line", async () => {
  const dir = await runDir(ROWS);
  try {
    await Deno.writeTextFile(`${dir}/fidelity.jsonl`, '{"request":0}\n', {
      append: true,
    });
    await assert.rejects(
      loadRun(dir),
      new Error(
        `Cannot read run "${dir}": fidelity.jsonl: line 6 has no numeric "intendedTokens"`,
      ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fidelity: a negative drift is signed once", () => {
  const fidelity = fidelityData([ROWS[4]]); // 400 intended, 390 reported
  const html = fidelityTable([{ name: "r", fidelity }]);
  assert.ok(
    html.includes(
      "<td>1</td><td>1 of 1</td><td>-10 (-2.5%)</td><td>unknown</td>",
    ),
    html,
  );
});

Deno.test("fidelity: compared runs each have their points and y = x line; a run without fidelity has none", () => {
  const run = (name: string, fidelity?: FidelityRow[]) =>
    runData({ source: name, records: { records: [], reports: [] }, fidelity }, {
      name,
    });
  const specs = plotSpecs([run("a", ROWS), run("other"), run("b", ROWS)]);
  const cached = specs.find((s) => s.id === "plot-fidelity-cached")!;
  assert.deepEqual(cached.series.map((s) => [s.label, s.x[0], s.joined]), [
    ["a", 0, undefined],
    ["b", 2, undefined],
    ["a: y = x", 0, true],
    ["b: y = x", 2, true],
  ]);
  assert.equal(
    plotSpecs([run("other")]).some((s) => s.id.includes("fidelity")),
    false,
  );
});
