import assert from "node:assert/strict";
import { join } from "node:path";
import {
  resolveWorkloadPath,
  TRIE_DATASET_ALIASES,
  trieDatasetCacheDir,
} from "./dataset.ts";
import { withEnv } from "../../lib/testing/with_env.ts";
import { type FakeHub, serveFakeHub } from "../../lib/testing/fake_hub.ts";

const ROW = JSON.stringify({
  num_turns: 1,
  input_prompt_length: 10,
  assistant_response_length: [5],
  tool_call_output_length: [3],
  tool_call_latency: [0.5],
  final_assistant_response_length: 7,
}) + "\n";

/** A fake Hub serving every dataset file as `ROW`, logging the requests. */
function serveDataset(): FakeHub {
  return serveFakeHub(() => new Response(ROW));
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("TRIE_DATASET_ALIASES maps the three aliases to the upstream file names", () => {
  assert.deepEqual({ ...TRIE_DATASET_ALIASES }, {
    agentic: "agentic_coding_8k.jsonl",
    qa: "code_qa_8k.jsonl",
    office: "office_work_8k.jsonl",
  });
});

Deno.test("trieDatasetCacheDir: TRIE_DATASET_CACHE, else /tmp/trie-dataset", async () => {
  await withEnv({ TRIE_DATASET_CACHE: undefined }, () => {
    assert.equal(trieDatasetCacheDir(), "/tmp/trie-dataset");
  });
  await withEnv({ TRIE_DATASET_CACHE: "/data/trie" }, () => {
    assert.equal(trieDatasetCacheDir(), "/data/trie");
  });
});

Deno.test("resolveWorkloadPath: an alias is downloaded once via HF_ENDPOINT into TRIE_DATASET_CACHE, then reused", async () => {
  const cache = await Deno.makeTempDir();
  const hub = serveDataset();
  try {
    await withEnv({
      TRIE_DATASET_CACHE: cache,
      HF_ENDPOINT: hub.url,
      HF_TOKEN: "hf_abc",
      HUGGING_FACE_HUB_TOKEN: undefined,
    }, async () => {
      const path = await resolveWorkloadPath("agentic");
      assert.equal(path, join(cache, "agentic_coding_8k.jsonl"));
      assert.equal(await Deno.readTextFile(path), ROW);
      assert.deepEqual(hub.requests, [{
        path:
          "/datasets/lightseekorg/trie-dataset/resolve/main/agentic_coding_8k.jsonl",
        authorization: "Bearer hf_abc",
      }]);
      assert.equal(await resolveWorkloadPath("agentic"), path);
      assert.equal(hub.requests.length, 1);
    });
  } finally {
    await hub.server.shutdown();
  }
  try {
    // With the server gone, the cached file is still found.
    await withEnv({ TRIE_DATASET_CACHE: cache }, async () => {
      assert.equal(
        await resolveWorkloadPath("agentic"),
        join(cache, "agentic_coding_8k.jsonl"),
      );
    });
    assert.deepEqual(await listDir(cache), ["agentic_coding_8k.jsonl"]);
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("resolveWorkloadPath: options override the cache folder, endpoint and token", async () => {
  const cache = await Deno.makeTempDir();
  const hub = serveDataset();
  try {
    await withEnv(
      { HF_TOKEN: undefined, HUGGING_FACE_HUB_TOKEN: undefined },
      async () => {
        const folder = join(cache, "sub");
        const qa = await resolveWorkloadPath("qa", {
          cacheDir: folder,
          endpoint: `${hub.url}/`,
        });
        const office = await resolveWorkloadPath("office", {
          cacheDir: folder,
          endpoint: hub.url,
          token: "tok",
        });
        assert.equal(qa, join(folder, "code_qa_8k.jsonl"));
        assert.equal(office, join(folder, "office_work_8k.jsonl"));
        assert.deepEqual(hub.requests, [
          {
            path:
              "/datasets/lightseekorg/trie-dataset/resolve/main/code_qa_8k.jsonl",
            authorization: null,
          },
          {
            path:
              "/datasets/lightseekorg/trie-dataset/resolve/main/office_work_8k.jsonl",
            authorization: "Bearer tok",
          },
        ]);
      },
    );
  } finally {
    await hub.server.shutdown();
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("resolveWorkloadPath: an existing cached file is never downloaded again", async () => {
  const cache = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(cache, "code_qa_8k.jsonl"), "cached\n");
    // An endpoint nobody listens on: any download attempt would fail.
    const path = await resolveWorkloadPath("qa", {
      cacheDir: cache,
      endpoint: "http://127.0.0.1:9",
    });
    assert.equal(await Deno.readTextFile(path), "cached\n");
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("resolveWorkloadPath: anything that is not an alias passes through unchanged", async () => {
  assert.equal(await resolveWorkloadPath("my/work.jsonl"), "my/work.jsonl");
  assert.equal(await resolveWorkloadPath("Agentic"), "Agentic");
  assert.equal(await resolveWorkloadPath("toString"), "toString");
  assert.equal(await resolveWorkloadPath(""), "");
});

Deno.test("resolveWorkloadPath: a cut download leaves no cached file and a later retry succeeds", async () => {
  const cache = await Deno.makeTempDir();
  let cut = true;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const url = `http://127.0.0.1:${listener.addr.port}`;
  const serving = (async () => {
    for await (const conn of listener) {
      await conn.read(new Uint8Array(4096));
      const body = cut ? ROW.slice(0, 20) : ROW;
      const head = `HTTP/1.1 200 OK\r\ncontent-length: ${ROW.length}\r\n` +
        `connection: close\r\n\r\n`;
      await conn.write(new TextEncoder().encode(head + body));
      conn.close();
    }
  })();
  try {
    await assert.rejects(
      resolveWorkloadPath("office", { cacheDir: cache, endpoint: url }),
      (error: Error) => {
        assert.match(
          error.message,
          new RegExp(
            `^Cannot load workload "office": Cannot download ${url}/datasets/lightseekorg/trie-dataset/resolve/main/office_work_8k\\.jsonl: `,
          ),
        );
        return true;
      },
    );
    assert.deepEqual(await listDir(cache), []);
    cut = false;
    const path = await resolveWorkloadPath("office", {
      cacheDir: cache,
      endpoint: url,
    });
    assert.equal(await Deno.readTextFile(path), ROW);
    assert.deepEqual(await listDir(cache), ["office_work_8k.jsonl"]);
  } finally {
    listener.close();
    await serving;
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("resolveWorkloadPath: a missing file on the Hub is a clear error", async () => {
  const cache = await Deno.makeTempDir();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("Entry not found", { status: 404 }),
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  try {
    await assert.rejects(
      resolveWorkloadPath("agentic", { cacheDir: cache, endpoint: url }),
      new Error(
        `Cannot load workload "agentic": Cannot download ${url}/datasets/lightseekorg/trie-dataset/resolve/main/agentic_coding_8k.jsonl: HTTP 404 Not Found`,
      ),
    );
    assert.deepEqual(await listDir(cache), []);
  } finally {
    await server.shutdown();
    await Deno.remove(cache, { recursive: true });
  }
});
