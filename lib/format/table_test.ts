import assert from "node:assert/strict";
import { renderTable } from "./table.ts";

// Expected strings were checked against rich 13.3 printing the same Table to
// a plain (non-terminal) console.
const lines = (...ls: string[]): string => ls.map((l) => l + "\n").join("");

Deno.test("renderTable() draws rich's heavy-head table", () => {
  const text = renderTable(
    [{ header: "Metric" }, { header: "Latency (s)" }, {
      header: "Cache hit rate (%)",
    }],
    [["mean", "1.500", "12.3"], ["min", "0.250", "0.0"]],
    { title: "Per-trace metrics" },
  );
  assert.equal(
    text,
    lines(
      "              Per-trace metrics              ",
      "┏━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┓",
      "┃ Metric ┃ Latency (s) ┃ Cache hit rate (%) ┃",
      "┡━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━┩",
      "│ mean   │       1.500 │               12.3 │",
      "│ min    │       0.250 │                0.0 │",
      "└────────┴─────────────┴────────────────────┘",
    ),
  );
});

Deno.test("renderTable() centres a two-line title, right-aligns headers", () => {
  const expected = lines(
    "        Workload metrics         ",
    "   completed=2/3  trace/s=0.41   ",
    "┏━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━┓",
    "┃ Metric             ┃  Overall ┃",
    "┡━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━┩",
    "│ total prompt tok/s │     1.00 │",
    "│ completion tok/s   │ 12345.68 │",
    "└────────────────────┴──────────┘",
  );
  const columns = [{ header: "Metric" }, { header: "Overall" }];
  const rows = [["total prompt tok/s", "1.00"], [
    "completion tok/s",
    "12345.68",
  ]];
  assert.equal(
    renderTable(columns, rows, {
      title: "Workload metrics\ncompleted=2/3  trace/s=0.41",
    }),
    expected,
  );
  assert.equal(
    renderTable(columns, rows, {
      title: ["Workload metrics", "completed=2/3  trace/s=0.41"],
    }),
    expected,
  );
});

Deno.test("renderTable() wraps a wide title and aligns multi-line cells", () => {
  assert.equal(
    renderTable([{ header: "M" }, { header: "x\ny" }], [["a", "1"], [
      "b\nc",
      "22",
    ]], { title: "A very long title that is much wider than the table" }),
    lines(
      "  A very  ",
      "long title",
      " that is  ",
      "much wider",
      " than the ",
      "  table   ",
      "┏━━━┳━━━━┓",
      "┃   ┃  x ┃",
      "┃ M ┃  y ┃",
      "┡━━━╇━━━━┩",
      "│ a │  1 │",
      "│ b │ 22 │",
      "│ c │    │",
      "└───┴────┘",
    ),
  );
});

Deno.test("renderTable() chops a title word wider than the table", () => {
  assert.equal(
    renderTable(
      [{ header: "M" }, {
        header: "v",
      }],
      [["a", "1"]],
      { title: "ab Supercalifragilistic xy" },
    ),
    lines(
      "   ab    ",
      "Supercali",
      "fragilist",
      "  ic xy  ",
      "┏━━━┳━━━┓",
      "┃ M ┃ v ┃",
      "┡━━━╇━━━┩",
      "│ a │ 1 │",
      "└───┴───┘",
    ),
  );
});

Deno.test("renderTable() honours explicit alignment and an empty title", () => {
  assert.equal(
    renderTable([{ header: "k", align: "right" }, {
      header: "value",
      align: "left",
    }], [["a", "1"], ["bb"]]),
    lines(
      "┏━━━━┳━━━━━━━┓",
      "┃  k ┃ value ┃",
      "┡━━━━╇━━━━━━━┩",
      "│  a │ 1     │",
      "│ bb │       │",
      "└────┴───────┘",
    ),
  );
});
