/**
 * `kvbench trie` without the Hub, end to end through cli.ts against the
 * simulator: the model discovered, tokens counted with the server's
 * `/tokenize` or the bundled tokenizer, the key checked before anything is
 * sent, and errors that name `tokenizer_model=`.
 */
import { ok, strictEqual } from "node:assert/strict";
import { runCli } from "./cli_process.ts";
import { startSimulator } from "../lib/sim/server.ts";
import { qwen3Tokenizer } from "../lib/testing/tokenizers.ts";

const TRACES =
  new URL("./testdata/traces_small.jsonl", import.meta.url).pathname;

const OFFLINE = { HF_HUB_OFFLINE: "1" };

function trie(url: string, ...args: string[]): string[] {
  return [
    "trie",
    `workload_path=${TRACES}`,
    `endpoint=${url}`,
    "concurrency=2",
    "max_traces=3",
    "duration=60",
    "metrics=False",
    "artifacts=False",
    ...args,
  ];
}

Deno.test("trie: no model=, no tokenizer: the model is discovered and /tokenize counts exactly", async () => {
  await using sim = await startSimulator({ timeScale: 0.01 });
  const { code, stdout, stderr } = await runCli(
    trie(sim.url, "stream=True"),
    { env: OFFLINE },
  );
  strictEqual(code, 0, stderr);
  ok(
    stderr.includes(`found model                    model=${sim.model}`),
    stderr,
  );
  ok(
    stderr.includes(
      "counting tokens with the server's /tokenize (set tokenizer_model= to choose)",
    ),
    stderr,
  );
  ok(stdout.includes(`model=${sim.model}`), stdout);
  // The server counted exactly what the workload meant: no drift line.
  ok(!stdout.includes("Prompt tokens: the server counted"), stdout);
  ok(/ failed_requests=0 /.test(stdout), stdout);
  ok(!stderr.includes("stream=False"), stderr);
});

Deno.test("trie: tokenizer_model=bundled against a Qwen3-counting server, stream=False says what it hides", async () => {
  await using sim = await startSimulator({
    timeScale: 0.01,
    tokenizer: qwen3Tokenizer(),
  });
  const { code, stdout, stderr } = await runCli(
    trie(sim.url, `model=${sim.model}`, "tokenizer_model=bundled"),
    { env: OFFLINE },
  );
  strictEqual(code, 0, stderr);
  ok(!stdout.includes("Prompt tokens: the server counted"), stdout);
  ok(
    stderr.includes(
      "stream=False: TTFT, TTFAT and Decode TPS are not measured (set stream=True)",
    ),
    stderr,
  );
});

Deno.test("trie: a wrong key is refused before any request; a server without /tokenize names tokenizer_model=", async () => {
  await using sim = await startSimulator({
    timeScale: 0.01,
    apiKey: "sk-right-key-0000",
  });
  const refused = await runCli(
    trie(sim.url, "api_key=sk-wrong-key-0000", "tokenizer_model=bundled"),
    { env: OFFLINE },
  );
  strictEqual(refused.code, 1);
  strictEqual(
    refused.stderr,
    "kvbench trie: error: The server refused the API key (HTTP 401: Incorrect API key provided.): check api_key= (or $OPENAI_API_KEY)\n",
  );
  strictEqual(sim.stats().requests, 0, "no completion was sent");
  // No key at all: said as such, not as a refused one.
  const none = await runCli(trie(sim.url, "tokenizer_model=bundled"), {
    env: { ...OFFLINE, OPENAI_API_KEY: "" },
  });
  strictEqual(none.code, 1);
  strictEqual(
    none.stderr,
    "kvbench trie: error: The server requires an API key, and none was given (HTTP 401: Incorrect API key provided.): check api_key= (or $OPENAI_API_KEY)\n",
  );
  strictEqual(sim.stats().requests, 0, "no completion was sent");

  // A server with /v1/models but no /tokenize.
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) =>
      new URL(request.url).pathname === "/v1/models"
        ? Response.json({ data: [{ id: "org/unknown-model" }] })
        : new Response("not found", { status: 404 }),
  );
  try {
    const { code, stderr } = await runCli(
      trie(`http://127.0.0.1:${server.addr.port}/v1`),
      { env: OFFLINE },
    );
    strictEqual(code, 1);
    strictEqual(stderr.split("\n").length, 3, stderr); // found model, the error
    ok(
      stderr.includes(
        `kvbench trie: error: Cannot load tokenizer "org/unknown-model"`,
      ),
      stderr,
    );
    ok(
      stderr.endsWith(
        "HTTP 404 from POST http://127.0.0.1:" + server.addr.port +
          "/tokenize; set tokenizer_model= to a folder holding tokenizer.json, a Hugging Face id, server (the server's /tokenize) or bundled (Qwen3's)\n",
      ),
      stderr,
    );
  } finally {
    await server.shutdown();
  }
});
