import { deepStrictEqual, rejects, strictEqual } from "node:assert/strict";
import { join } from "node:path";
import { parseHfConfig } from "./hf_config.ts";
import { sizeKv } from "./kv_size.ts";
import { BUNDLED_MODEL_CONFIGS, bytesPerToken } from "./model_config.ts";
import { layoutFromModelConfig, resolveModelLayout } from "./model_source.ts";
import { serveFakeHub } from "../testing/fake_hub.ts";

const CONFIGS = new URL("../../tests/testdata/configs/", import.meta.url);
const fixturePath = (name: string): string =>
  new URL(`${name}.json`, CONFIGS).pathname;

// Each model_configs.json entry, recomputed from its model's config.json.
// The one assumption: Qwen3-235B-FP8's 96,256 is an fp8 KV cache (its
// config.json's quantization is of the weights; its KV dtype is bf16 unless
// the server runs --kv-cache-dtype fp8, as tmesh-cli's figure supposes).
const TABLE: [string, string, string | undefined][] = [
  ["openai/gpt-oss-120b", "gpt-oss-120b", undefined],
  ["openai/gpt-oss-20b", "gpt-oss-20b", undefined],
  [
    "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8",
    "qwen3-235b-a22b-instruct-2507",
    "fp8",
  ],
  [
    "Qwen/Qwen3-Coder-480B-A35B-Instruct-FP8",
    "qwen3-coder-480b-a35b-instruct",
    undefined,
  ],
  [
    "Qwen/Qwen3-30B-A3B-Instruct-2507",
    "qwen3-30b-a3b-instruct-2507",
    undefined,
  ],
];

for (const [name, file, kvDtype] of TABLE) {
  Deno.test(
    `model_configs.json's ${name} is recomputed from its config.json${
      kvDtype ? ` with an ${kvDtype} KV cache` : ""
    }`,
    () => {
      const entry = BUNDLED_MODEL_CONFIGS.find((c) => c.model_name === name)!;
      const config = JSON.parse(Deno.readTextFileSync(fixturePath(file)));
      const fromConfig = sizeKv(parseHfConfig(config), {
        kvCacheDtype: kvDtype,
      });
      strictEqual(fromConfig.modelBytesPerToken, bytesPerToken(entry));
      // The entry's own layout gives the same figure.
      strictEqual(
        sizeKv(layoutFromModelConfig(entry)).modelBytesPerToken,
        bytesPerToken(entry),
      );
    },
  );
}

Deno.test("the table's entry is the bundled name; a path or folder is read", async () => {
  const table = await resolveModelLayout("openai/gpt-oss-20b");
  deepStrictEqual([table.from, table.source], ["table", "model_configs.json"]);
  const file = await resolveModelLayout(fixturePath("deepseek-v3"));
  strictEqual(file.from, "file");
  strictEqual(file.layout.groups[0].kind, "mla");
  const dir = await Deno.makeTempDir();
  await Deno.copyFile(fixturePath("glm-4.5"), join(dir, "config.json"));
  const folder = await resolveModelLayout(dir);
  strictEqual(folder.source, join(dir, "config.json"));
  await Deno.writeTextFile(join(dir, "config.json"), "{ not json");
  await rejects(resolveModelLayout(dir), /config.json": not valid JSON/);
  await Deno.remove(dir, { recursive: true });
  await rejects(
    resolveModelLayout("./no/such/thing.json"),
    /Cannot find model "\.\/no\/such\/thing.json": not in model_configs.json/,
  );
});

Deno.test("a Hugging Face id: the HF cache first, then kvbench's cache, then the Hub", async () => {
  const body = Deno.readTextFileSync(fixturePath("llama-3.1-70b-instruct"));
  const hub = serveFakeHub((path) =>
    path === "/meta-llama/Llama-3.1-70B-Instruct/resolve/main/config.json"
      ? new Response(body)
      : new Response("Entry not found", { status: 404 })
  );
  const cacheDir = await Deno.makeTempDir();
  const hfCacheDir = await Deno.makeTempDir();
  try {
    const options = {
      cacheDir,
      hfCacheDir,
      endpoint: hub.url,
      token: "hf_x",
      offline: false,
    };
    const first = await resolveModelLayout(
      "meta-llama/Llama-3.1-70B-Instruct",
      options,
    );
    strictEqual(first.from, "hub");
    strictEqual(sizeKv(first.layout).bytesPerTokenPerRank, 327_680);
    strictEqual(hub.requests[0].authorization, "Bearer hf_x");
    const again = await resolveModelLayout(
      "meta-llama/Llama-3.1-70B-Instruct",
      { ...options, offline: true },
    );
    strictEqual(again.from, "cache");
    strictEqual(hub.requests.length, 1);
    // A snapshot in the Hugging Face cache wins over both.
    const snapshot = join(
      hfCacheDir,
      "models--org--model",
      "snapshots",
      "abc123",
    );
    await Deno.mkdir(snapshot, { recursive: true });
    await Deno.mkdir(join(hfCacheDir, "models--org--model", "refs"));
    await Deno.writeTextFile(
      join(hfCacheDir, "models--org--model", "refs", "main"),
      "abc123\n",
    );
    await Deno.copyFile(fixturePath("qwen3-8b"), join(snapshot, "config.json"));
    const cached = await resolveModelLayout("org/model", options);
    deepStrictEqual(
      [cached.from, cached.source],
      ["hf-cache", join(snapshot, "config.json")],
    );
    await rejects(
      resolveModelLayout("org/absent", { ...options, offline: true }),
      /HF_HUB_OFFLINE forbids downloading it/,
    );
    await rejects(
      resolveModelLayout("org/absent", options),
      /Cannot download .*org\/absent\/resolve\/main\/config.json: HTTP 404/,
    );
  } finally {
    await hub.server.shutdown();
    await Deno.remove(cacheDir, { recursive: true });
    await Deno.remove(hfCacheDir, { recursive: true });
  }
});
