import assert from "node:assert/strict";
import { QWEN3_TOKENIZER_FILES } from "../testing/tokenizers.ts";
import { join } from "node:path";
import { loadTokenizer, tokenizerFromJson } from "./tokenizer.ts";
import { withEnv } from "../testing/with_env.ts";
import { type FakeHub, serveFakeHub } from "../testing/fake_hub.ts";

/** A five-word WordPiece tokenizer: small enough to serve and load quickly. */
const TINY_JSON = {
  model: {
    type: "WordPiece",
    vocab: { "[UNK]": 0, hello: 1, world: 2, foo: 3, "##s": 4 },
    unk_token: "[UNK]",
    continuing_subword_prefix: "##",
    max_input_chars_per_word: 100,
  },
  pre_tokenizer: { type: "Whitespace" },
  decoder: { type: "WordPiece", prefix: "##", cleanup: false },
};
const TINY_CONFIG = { model_max_length: 512 };

/** A fake Hub serving `files` as JSON under `/<repo>/resolve/main/`. */
function serveHub(repo: string, files: Record<string, unknown>): FakeHub {
  const prefix = `/${repo}/resolve/main/`;
  return serveFakeHub((path) => {
    const name = path.startsWith(prefix) ? path.slice(prefix.length) : "";
    if (!(name in files)) {
      return new Response("Entry not found", { status: 404 });
    }
    return Response.json(files[name]);
  });
}

Deno.test("tokenizerFromJson: Qwen3 encodes without special tokens and decodes them verbatim", () => {
  const qwen3 = tokenizerFromJson(
    QWEN3_TOKENIZER_FILES.tokenizer,
    QWEN3_TOKENIZER_FILES.config,
    { name: "qwen3" },
  );
  assert.equal(qwen3.name, "qwen3");
  assert.equal(qwen3.vocabSize, 151643); // HF's vocab_size: base vocab, no added tokens
  assert.deepEqual(qwen3.encode("Hello world"), [9707, 1879]);
  assert.deepEqual(qwen3.encode(""), []);
  // "<|endoftext|>" is the added token 151643; it is kept when decoding.
  assert.equal(qwen3.decode([151643, 9707, 1879]), "<|endoftext|>Hello world");
  assert.equal(qwen3.decode([]), "");
  // No clean-up of spaces: " ," stays as it is.
  assert.equal(qwen3.decode(qwen3.encode("a , b")), "a , b");
});

Deno.test("tokenizerFromJson: ids outside the vocabulary decode to nothing; no name means 'tokenizer'", () => {
  const tiny = tokenizerFromJson(TINY_JSON);
  assert.equal(tiny.name, "tokenizer");
  assert.equal(tiny.vocabSize, 5);
  assert.deepEqual(tiny.encode("hello worlds"), [1, 2, 4]);
  assert.equal(tiny.decode([1, 99, 2]), "hello world");
  assert.equal(tiny.decode([99]), "");
});

Deno.test("tokenizerFromJson: a tokenizer.json without a model vocabulary is refused", () => {
  assert.throws(
    () => tokenizerFromJson({ model: { type: "BPE" } }),
    new SyntaxError("tokenizer.json has no model.vocab"),
  );
});

Deno.test("loadTokenizer: a local folder with Qwen3's tokenizer.json and tokenizer_config.json", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(
      join(dir, "tokenizer.json"),
      JSON.stringify(QWEN3_TOKENIZER_FILES.tokenizer),
    );
    await Deno.writeTextFile(
      join(dir, "tokenizer_config.json"),
      JSON.stringify(QWEN3_TOKENIZER_FILES.config),
    );
    const fromFolder = await loadTokenizer(dir);
    assert.equal(fromFolder.name, dir);
    assert.equal(fromFolder.vocabSize, 151643);
    assert.deepEqual(fromFolder.encode("Hello world"), [9707, 1879]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadTokenizer: a path to a tokenizer.json file (no config beside it)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "my-tokenizer.json");
    await Deno.writeTextFile(file, JSON.stringify(TINY_JSON));
    const tiny = await loadTokenizer(file);
    assert.equal(tiny.name, file);
    assert.deepEqual(tiny.encode("foo hello"), [3, 1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadTokenizer: clear errors for a folder without tokenizer.json, a missing path and bad JSON", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      loadTokenizer(dir),
      new Error(
        `Cannot load tokenizer "${dir}": the folder has no tokenizer.json`,
      ),
    );
    await assert.rejects(
      loadTokenizer(join(dir, "nothing")),
      new Error(
        `Cannot load tokenizer "${
          join(dir, "nothing")
        }": no such file or folder`,
      ),
    );
    await assert.rejects(
      loadTokenizer("./not-here"),
      new Error(`Cannot load tokenizer "./not-here": no such file or folder`),
    );
    await Deno.writeTextFile(join(dir, "tokenizer.json"), "[1, 2]");
    await assert.rejects(
      loadTokenizer(dir),
      new Error(
        `Cannot load tokenizer "${dir}": ${
          join(dir, "tokenizer.json")
        } is not a JSON object`,
      ),
    );
    await Deno.writeTextFile(join(dir, "tokenizer.json"), "{oops");
    await assert.rejects(
      loadTokenizer(dir),
      (error: Error) =>
        error.message.startsWith(
          `Cannot load tokenizer "${dir}": cannot read ${
            join(dir, "tokenizer.json")
          } (`,
        ),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadTokenizer: a Hub id is downloaded once into the cache, then reused with the server gone", async () => {
  const cacheDir = await Deno.makeTempDir();
  const hub = serveHub("acme/tiny-model", {
    "tokenizer.json": TINY_JSON,
    "tokenizer_config.json": TINY_CONFIG,
  });
  try {
    const first = await loadTokenizer("acme/tiny-model", {
      cacheDir,
      endpoint: hub.url,
      token: "hf_secret",
    });
    assert.equal(first.name, "acme/tiny-model");
    assert.deepEqual(first.encode("hello world"), [1, 2]);
    assert.deepEqual(hub.requests, [
      {
        path: "/acme/tiny-model/resolve/main/tokenizer_config.json",
        authorization: "Bearer hf_secret",
      },
      {
        path: "/acme/tiny-model/resolve/main/tokenizer.json",
        authorization: "Bearer hf_secret",
      },
    ]);
    const snapshot = join(
      cacheDir,
      "models--acme--tiny-model",
      "snapshots",
      "main",
    );
    assert.deepEqual(
      JSON.parse(await Deno.readTextFile(join(snapshot, "tokenizer.json"))),
      TINY_JSON,
    );
    assert.deepEqual(
      JSON.parse(
        await Deno.readTextFile(join(snapshot, "tokenizer_config.json")),
      ),
      TINY_CONFIG,
    );
  } finally {
    await hub.server.shutdown();
  }
  try {
    // The server is gone: the cached copy is used, online or offline.
    const again = await loadTokenizer("acme/tiny-model", {
      cacheDir,
      endpoint: hub.url,
    });
    assert.deepEqual(again.encode("foo"), [3]);
    const offline = await loadTokenizer("acme/tiny-model", {
      cacheDir,
      offline: true,
    });
    assert.deepEqual(offline.encode("worlds"), [2, 4]);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("loadTokenizer: tokenizer_config.json is optional on the Hub; HF env vars are honoured", async () => {
  const home = await Deno.makeTempDir();
  const hub = serveHub("tiny", { "tokenizer.json": TINY_JSON });
  try {
    await withEnv({
      HF_HOME: home,
      HF_HUB_CACHE: undefined,
      HUGGINGFACE_HUB_CACHE: undefined,
      HF_ENDPOINT: `${hub.url}/`,
      HF_TOKEN: "env_token",
      HF_HUB_OFFLINE: undefined,
    }, async () => {
      const tiny = await loadTokenizer("tiny");
      assert.deepEqual(tiny.encode("hello"), [1]);
    });
    assert.deepEqual(hub.requests, [
      {
        path: "/tiny/resolve/main/tokenizer_config.json",
        authorization: "Bearer env_token",
      },
      {
        path: "/tiny/resolve/main/tokenizer.json",
        authorization: "Bearer env_token",
      },
    ]);
    const snapshot = join(home, "hub", "models--tiny", "snapshots", "main");
    assert.deepEqual(
      [...Deno.readDirSync(snapshot)].map((entry) => entry.name),
      ["tokenizer.json"],
    );
  } finally {
    await hub.server.shutdown();
    await Deno.remove(home, { recursive: true });
  }
});

Deno.test("loadTokenizer: reads the snapshot a huggingface_hub cache points to with refs/main", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    const repo = join(cacheDir, "models--org--cached");
    const snapshot = join(repo, "snapshots", "0123abcd");
    await Deno.mkdir(join(repo, "refs"), { recursive: true });
    await Deno.mkdir(snapshot, { recursive: true });
    await Deno.writeTextFile(join(repo, "refs", "main"), "0123abcd\n");
    await Deno.writeTextFile(
      join(snapshot, "tokenizer.json"),
      JSON.stringify(TINY_JSON),
    );
    const tiny = await loadTokenizer("org/cached", { cacheDir, offline: true });
    assert.deepEqual(tiny.encode("world"), [2]);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("loadTokenizer: offline or unreachable without a cached copy gives one clear error", async () => {
  const cacheDir = await Deno.makeTempDir();
  const advice =
    "put tokenizer.json and tokenizer_config.json in a folder and pass its path";
  try {
    await assert.rejects(
      loadTokenizer("org/absent", { cacheDir, offline: true }),
      new Error(
        `Cannot load tokenizer "org/absent": no local copy and the Hub is unreachable (offline mode); ${advice}`,
      ),
    );
    await withEnv({ HF_HUB_OFFLINE: "1" }, async () => {
      await assert.rejects(
        loadTokenizer("org/absent", { cacheDir }),
        new Error(
          `Cannot load tokenizer "org/absent": no local copy and the Hub is unreachable (offline mode: HF_HUB_OFFLINE is set); ${advice}`,
        ),
      );
    });
    // A Hub without the file.
    const hub = serveHub("org/other", {});
    try {
      await assert.rejects(
        loadTokenizer("org/absent", { cacheDir, endpoint: hub.url }),
        new Error(
          `Cannot load tokenizer "org/absent": no local copy and the Hub is unreachable (${hub.url}/org/absent/resolve/main/tokenizer.json: HTTP 404 Not Found); ${advice}`,
        ),
      );
    } finally {
      await hub.server.shutdown();
    }
    // Nothing listening at all.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const closedPort = listener.addr.port;
    listener.close();
    await assert.rejects(
      loadTokenizer("org/absent", {
        cacheDir,
        endpoint: `http://127.0.0.1:${closedPort}`,
      }),
      (error: Error) => {
        assert.match(
          error.message,
          new RegExp(
            `^Cannot load tokenizer "org/absent": no local copy and the Hub is unreachable \\(http://127\\.0\\.0\\.1:${closedPort}/org/absent/resolve/main/tokenizer_config\\.json: .+\\); ${advice}$`,
          ),
        );
        return true;
      },
    );
    // No partial files were left in the cache.
    const snapshot = join(cacheDir, "models--org--absent", "snapshots", "main");
    const left = await Array.fromAsync(Deno.readDir(snapshot)).catch(() => []);
    assert.deepEqual(left, []);
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});
