import { deepStrictEqual, strictEqual, throws } from "node:assert/strict";
import {
  discoverModels,
  maskKey,
  normalizeEndpoint,
  probeModel,
} from "./endpoint.ts";

// Every row of the reference's table (tmesh-cli.md §1.3), with kvbench's
// documented deviations: https kept, path prefix kept, scheme case fixed.
const TABLE: [string, string][] = [
  ["http://localhost:8000", "http://localhost:8000/v1/"],
  ["http://localhost:8000/", "http://localhost:8000/v1/"],
  ["http://localhost:8000/v1", "http://localhost:8000/v1/"],
  ["http://localhost:8000/v1/", "http://localhost:8000/v1/"],
  ["localhost:8000", "http://localhost:8000/v1/"],
  [
    "https://api.example.com/v1/chat/completions",
    "https://api.example.com/v1/",
  ],
  [
    "http://192.168.111.29:30080/v1/chat/completions",
    "http://192.168.111.29:30080/v1/",
  ],
  [
    "https://api.fireworks.ai/inference/v1",
    "https://api.fireworks.ai/inference/v1/",
  ],
  ["http://host:8000/prefix/v1?x=1#f", "http://host:8000/prefix/v1/"],
  ["localhost", "http://localhost/v1/"],
  ["HTTP://Host:1/", "http://host:1/v1/"],
  [
    "https://api.example.com/inference",
    "https://api.example.com/inference/v1/",
  ],
  ["  http://127.0.0.1:9/v1/completions  ", "http://127.0.0.1:9/v1/"],
  ["http://[::1]:8000", "http://[::1]:8000/v1/"],
];

for (const [input, expected] of TABLE) {
  Deno.test(`normalizeEndpoint(${JSON.stringify(input)})`, () => {
    strictEqual(normalizeEndpoint(input), expected);
  });
}

Deno.test("normalizeEndpoint refuses what it cannot use, in one line", () => {
  throws(() => normalizeEndpoint(""), /is empty/);
  throws(
    () => normalizeEndpoint("ftp://host/v1"),
    /scheme "ftp" is not http or https/,
  );
  throws(
    () => normalizeEndpoint("http://user:pw@h:1/x"),
    /credentials in the URL/,
  );
  throws(
    () => normalizeEndpoint("http://exa mple.com:99999"),
    /not a valid URL/,
  );
});

Deno.test("maskKey shows only the ends of a key", () => {
  strictEqual(maskKey("sk-1234567890abcdef"), "sk-1…cdef");
  strictEqual(maskKey("sk-123"), "****");
});

Deno.test("discoverModels lists ids, sends the key, and classifies failures", async () => {
  let auth = "";
  let status = 200;
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (req) => {
      auth = req.headers.get("authorization") ?? "";
      if (new URL(req.url).pathname !== "/v1/models") {
        return new Response(
          "no",
          { status: 404 },
        );
      }
      if (status !== 200) {
        return Response.json({
          error: { message: "bad key" },
        }, { status });
      }
      return Response.json({ data: [{ id: "m1" }, { id: "m2" }] });
    },
  );
  const base = `http://127.0.0.1:${server.addr.port}/v1/`;
  try {
    deepStrictEqual(await discoverModels(base, { apiKey: "sk-x" }), [
      "m1",
      "m2",
    ]);
    strictEqual(auth, "Bearer sk-x");
    status = 401;
    const error = await discoverModels(base, { apiKey: "sk-x" })
      .catch((e) => e);
    strictEqual(
      error.message,
      "The server refused the API key (HTTP 401: bad key)",
    );
    deepStrictEqual(error.cause, { kind: "auth", status: 401 });
    const none = await discoverModels(base).catch((e) => e);
    strictEqual(
      none.message,
      "The server requires an API key, and none was given (HTTP 401: bad key)",
    );
    deepStrictEqual(none.cause, { kind: "auth", status: 401 });
    status = 403;
    strictEqual(
      (await discoverModels(base).catch((e) => e)).message,
      "The server refused the request, and no API key was given (HTTP 403: bad key)",
    );
    status = 500;
    deepStrictEqual((await discoverModels(base).catch((e) => e)).cause, {
      kind: "http",
      status: 500,
    });
  } finally {
    await server.shutdown();
  }
  const refused = await discoverModels(base).catch((e) => e);
  deepStrictEqual(refused.cause, { kind: "connect" });
});

Deno.test("probeModel refuses only on a 404 that names the model, and says what any other answer was", async () => {
  let answer: [number, string] = [404, "no route"];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () => new Response(answer[1], { status: answer[0] }),
  );
  const base = `http://127.0.0.1:${server.addr.port}/v1/`;
  try {
    // A 404 for a missing route (a chat-only server) names no model.
    deepStrictEqual(await probeModel(base, { model: "m" }), {
      said: "a request for it got HTTP 404: no route",
    });
    answer = [404, '{"error": {"message": "model \\"m\\" not found"}}'];
    deepStrictEqual(await probeModel(base, { model: "m" }), {
      refused: 'HTTP 404: model "m" not found',
      said: 'a request for it got HTTP 404: model "m" not found',
    });
    // A proxy's 400 goes on, said as it was (the run's fail-fast judges).
    answer = [400, '{"error": {"message": "Invalid model name m"}}'];
    deepStrictEqual(await probeModel(base, { model: "m" }), {
      said: "a request for it got HTTP 400: Invalid model name m",
    });
    answer = [200, "{}"];
    deepStrictEqual(await probeModel(base, { model: "m" }), {
      said: "it answered a request for it",
    });
  } finally {
    await server.shutdown();
  }
  // Nobody listening: no answer, said so.
  const gone = await probeModel(base, { model: "m" });
  strictEqual(gone.refused, undefined);
  strictEqual(gone.said.startsWith("a request for it got no answer ("), true);
});
