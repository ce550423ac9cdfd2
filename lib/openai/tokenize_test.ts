import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { tokenizeRemote } from "./tokenize.ts";

/** A /tokenize that refuses (422) any field but `allowed`, and counts words. */
function strictServer(allowed: string[]) {
  const bodies: Record<string, unknown>[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      if (new URL(request.url).pathname !== "/tokenize") {
        return new Response("no", { status: 404 });
      }
      const body = await request.json();
      bodies.push(body);
      if (Object.keys(body).some((k) => !allowed.includes(k))) {
        return Response.json({ detail: "extra fields" }, { status: 422 });
      }
      const text = String(body.prompt ?? body.content);
      return Response.json({ tokens: text.split(" ").map((_, i) => i) });
    },
  );
  return { server, bodies, url: `http://127.0.0.1:${server.addr.port}/v1/` };
}

Deno.test("tokenizeRemote asks again with each spelling alone when the server refuses unknown fields", async () => {
  const vllm = strictServer(["model", "prompt", "add_special_tokens"]);
  const llama = strictServer(["content", "add_special"]);
  try {
    deepStrictEqual(
      await tokenizeRemote(vllm.url, "a b c", { model: "m" }),
      [0, 1, 2],
    );
    deepStrictEqual(vllm.bodies.at(-1), {
      model: "m",
      prompt: "a b c",
      add_special_tokens: false,
    });
    strictEqual(vllm.bodies.length, 2);
    deepStrictEqual(await tokenizeRemote(llama.url, "a b"), [0, 1]);
    deepStrictEqual(llama.bodies.at(-1), {
      content: "a b",
      add_special: false,
    });
    strictEqual(llama.bodies.length, 3);
  } finally {
    await vllm.server.shutdown();
    await llama.server.shutdown();
  }
});

Deno.test("tokenizeRemote: no /tokenize is an HTTP error naming the URL", async () => {
  const { server, url } = strictServer([]);
  try {
    const error = await tokenizeRemote(url.replace("/v1/", "/x/v1/"), "a")
      .catch((e) => e);
    strictEqual(
      error.message,
      `HTTP 404 from POST ${url.replace("/v1/", "/x/tokenize")}`,
    );
    deepStrictEqual(error.cause, { kind: "http", status: 404 });
  } finally {
    await server.shutdown();
  }
});
