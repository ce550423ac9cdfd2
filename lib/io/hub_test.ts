import assert from "node:assert/strict";
import { join } from "node:path";
import {
  downloadFile,
  hfEndpoint,
  hfHubCacheDir,
  hfOffline,
  hfToken,
  progressBar,
  type ProgressWriter,
} from "./hub.ts";
import { withEnv } from "../testing/with_env.ts";

function serve(
  handler: (request: Request) => Response | Promise<Response>,
): { server: Deno.HttpServer<Deno.NetAddr>; url: string } {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    handler,
  );
  return { server, url: `http://127.0.0.1:${server.addr.port}` };
}

/** A raw TCP server that sends `response` (head and partial body) to every client, then hangs up. */
function serveRaw(
  response: string,
): { url: string; done: Promise<void>; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const done = (async () => {
    for await (const conn of listener) {
      await conn.read(new Uint8Array(4096));
      await conn.write(new TextEncoder().encode(response));
      conn.close();
    }
  })();
  return {
    url: `http://127.0.0.1:${listener.addr.port}`,
    done,
    close: () => listener.close(),
  };
}

async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return names.sort();
}

Deno.test("downloadFile streams the body to dest, sends the token and reports progress", async () => {
  const dir = await Deno.makeTempDir();
  const body = "x".repeat(100_000);
  let authorization: string | null = null;
  const { server, url } = serve((request) => {
    authorization = request.headers.get("authorization");
    return new Response(body);
  });
  try {
    const progress: Array<[number, number | undefined]> = [];
    const dest = join(dir, "nested", "file.txt");
    await downloadFile(`${url}/file.txt`, dest, {
      token: "secret",
      onProgress: (received, total) => progress.push([received, total]),
    });
    assert.equal(await Deno.readTextFile(dest), body);
    assert.equal(authorization, "Bearer secret");
    assert.deepEqual(progress[0], [0, 100_000]);
    assert.deepEqual(progress.at(-1), [100_000, 100_000]);
    assert.deepEqual(await listDir(join(dir, "nested")), ["file.txt"]);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadFile sends no authorization header without a token", async () => {
  const dir = await Deno.makeTempDir();
  let authorization: string | null = "unset";
  const { server, url } = serve((request) => {
    authorization = request.headers.get("authorization");
    return new Response("ok");
  });
  try {
    await downloadFile(url, join(dir, "f"));
    assert.equal(authorization, null);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadFile: a body shorter than content-length leaves no file", async () => {
  const dir = await Deno.makeTempDir();
  const cut = serveRaw(
    "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\nconnection: close\r\n\r\nonly ten b",
  );
  try {
    const dest = join(dir, "data.jsonl");
    await assert.rejects(
      downloadFile(`${cut.url}/data.jsonl`, dest),
      (error: Error) => {
        assert.match(
          error.message,
          new RegExp(`^Cannot download ${cut.url}/data\\.jsonl: `),
        );
        assert.doesNotMatch(error.message, /\n/);
        return true;
      },
    );
    assert.deepEqual(await listDir(dir), []);
  } finally {
    cut.close();
    await cut.done;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadFile: a declared length larger than what arrives is reported as cut short", async () => {
  const dir = await Deno.makeTempDir();
  // A fetch whose body ends cleanly but early, so the length check itself is what fails.
  const fakeFetch: typeof fetch = () =>
    Promise.resolve(
      new Response("12345", { headers: { "content-length": "9" } }),
    );
  try {
    const dest = join(dir, "data.jsonl");
    await assert.rejects(
      downloadFile("http://hub.invalid/data.jsonl", dest, { fetch: fakeFetch }),
      new Error(
        "Cannot download http://hub.invalid/data.jsonl: body cut short (5 of 9 bytes)",
      ),
    );
    assert.deepEqual(await listDir(dir), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadFile: a chunked body broken mid-stream leaves no file", async () => {
  const dir = await Deno.makeTempDir();
  const cut = serveRaw(
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n" +
      "d\r\npartial line\n\r\n40\r\nthe rest never",
  );
  try {
    const dest = join(dir, "data.jsonl");
    await assert.rejects(
      downloadFile(cut.url, dest),
      /^Error: Cannot download/,
    );
    assert.deepEqual(await listDir(dir), []);
  } finally {
    cut.close();
    await cut.done;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadFile: HTTP 404 gives a clear one-line error and no file", async () => {
  const dir = await Deno.makeTempDir();
  const { server, url } = serve(() =>
    new Response("Entry not found", {
      status: 404,
      headers: { "x-error-message": "Entry not found" },
    })
  );
  try {
    await assert.rejects(
      downloadFile(`${url}/missing.json`, join(dir, "missing.json")),
      new Error(
        `Cannot download ${url}/missing.json: HTTP 404 Not Found (Entry not found)`,
      ),
    );
    assert.deepEqual(await listDir(dir), []);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadFile: HTTP 401 without a token hints at HF_TOKEN", async () => {
  const dir = await Deno.makeTempDir();
  const { server, url } = serve(() => new Response("no", { status: 401 }));
  try {
    await assert.rejects(
      downloadFile(url, join(dir, "f")),
      new Error(
        `Cannot download ${url}: HTTP 401 Unauthorized; set HF_TOKEN if the repository is gated or private`,
      ),
    );
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("downloadFile: an abort mid-body reports 'aborted' and leaves no file", async () => {
  const dir = await Deno.makeTempDir();
  const controller = new AbortController();
  const { server, url } = serve(() => {
    const body = new ReadableStream<Uint8Array>({
      start(stream) {
        stream.enqueue(new Uint8Array(10));
      },
    });
    return new Response(body, { headers: { "content-length": "1000" } });
  });
  try {
    const dest = join(dir, "f");
    const download = downloadFile(url, dest, {
      signal: controller.signal,
      onProgress: (received) => {
        if (received > 0) controller.abort();
      },
    });
    await assert.rejects(
      download,
      new Error(`Cannot download ${url}: aborted`),
    );
    assert.deepEqual(await listDir(dir), []);
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hfEndpoint, hfToken, hfOffline and hfHubCacheDir follow the env conventions", async () => {
  await withEnv({
    HF_ENDPOINT: undefined,
    HF_TOKEN: undefined,
    HUGGING_FACE_HUB_TOKEN: undefined,
    HF_HUB_OFFLINE: undefined,
    HF_HUB_CACHE: undefined,
    HUGGINGFACE_HUB_CACHE: undefined,
    HF_HOME: undefined,
    XDG_CACHE_HOME: undefined,
    HOME: "/home/u",
  }, () => {
    assert.equal(hfEndpoint(), "https://huggingface.co");
    assert.equal(hfToken(), undefined);
    assert.equal(hfOffline(), false);
    assert.equal(hfHubCacheDir(), "/home/u/.cache/huggingface/hub");
  });
  await withEnv({
    HF_ENDPOINT: "http://mirror.local:8080//",
    HUGGING_FACE_HUB_TOKEN: "old",
    HF_TOKEN: undefined,
    HF_HUB_OFFLINE: "True",
    XDG_CACHE_HOME: "/xdg",
    HF_HOME: undefined,
    HF_HUB_CACHE: undefined,
    HUGGINGFACE_HUB_CACHE: undefined,
  }, () => {
    assert.equal(hfEndpoint(), "http://mirror.local:8080");
    assert.equal(hfToken(), "old");
    assert.equal(hfOffline(), true);
    assert.equal(hfHubCacheDir(), "/xdg/huggingface/hub");
  });
  await withEnv({
    HF_TOKEN: "new",
    HUGGING_FACE_HUB_TOKEN: "old",
    HF_HUB_OFFLINE: "0",
    HF_HOME: "/hf",
    HF_HUB_CACHE: undefined,
    HUGGINGFACE_HUB_CACHE: undefined,
  }, () => {
    assert.equal(hfToken(), "new");
    assert.equal(hfOffline(), false);
    assert.equal(hfHubCacheDir(), "/hf/hub");
  });
  await withEnv({ HF_HUB_CACHE: "/cache/hub", HF_HOME: "/hf" }, () => {
    assert.equal(hfHubCacheDir(), "/cache/hub");
  });
});

class FakeTerminal implements ProgressWriter {
  output = "";
  constructor(private readonly terminal: boolean) {}
  writeSync(p: Uint8Array): number {
    this.output += new TextDecoder().decode(p);
    return p.length;
  }
  isTerminal(): boolean {
    return this.terminal;
  }
}

Deno.test("progressBar redraws one line on a terminal, throttled, and ends it", () => {
  const terminal = new FakeTerminal(true);
  const bar = progressBar("data", {
    writer: terminal,
    width: 10,
    intervalMs: 60_000,
  });
  bar.update(3_000_000, 6_000_000);
  bar.update(4_000_000, 6_000_000); // within the interval: not drawn
  bar.done();
  assert.equal(
    terminal.output,
    "\rdata [#####-----]  50% 3.0/6.0 MB\x1b[K" +
      "\rdata [######----]  66% 4.0/6.0 MB\x1b[K\n",
  );
});

Deno.test("progressBar without a total shows the bytes received", () => {
  const terminal = new FakeTerminal(true);
  const bar = progressBar("data", { writer: terminal, intervalMs: 0 });
  bar.update(1_250_000);
  bar.done();
  assert.equal(
    terminal.output,
    "\rdata 1.3 MB\x1b[K\rdata 1.3 MB\x1b[K\n",
  );
});

Deno.test("progressBar is silent when the writer is not a terminal", () => {
  const pipe = new FakeTerminal(false);
  const bar = progressBar("data", { writer: pipe });
  bar.update(1, 2);
  bar.done();
  assert.equal(pipe.output, "");
});
