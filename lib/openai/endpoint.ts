/**
 * Endpoint URLs: normalise what users type to one base URL ending in `/v1/`,
 * and discover the served model.
 *
 * @module
 */
import { networkErrorText } from "../transport/network_error.ts";
import { requestInit } from "./_request_init.ts";

/**
 * Normalise an endpoint to a base URL ending in `/v1/`.
 *
 * Accepts every form tmesh-cli documented (`http://localhost:8000`, with `/`,
 * `/v1`, `/v1/`, bare `localhost:8000`) and, unlike tmesh-cli, keeps `https`
 * (the key must not travel in clear text), keeps a path prefix before `/v1`
 * (`https://api.example.com/inference/v1`) and cuts whatever follows `/v1`
 * (`…/v1/chat/completions`). Query and fragment are dropped.
 *
 * @example Usage
 * ```ts
 * import { normalizeEndpoint } from "./endpoint.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(normalizeEndpoint("localhost:8000"), "http://localhost:8000/v1/");
 * assert.equal(
 *   normalizeEndpoint("https://api.example.com/inference/v1/completions"),
 *   "https://api.example.com/inference/v1/",
 * );
 * assert.throws(() => normalizeEndpoint("ftp://host"), TypeError);
 * ```
 */
export function normalizeEndpoint(endpoint: string): string {
  const raw = endpoint.trim();
  if (raw === "") throw new TypeError('Cannot use endpoint "": it is empty');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw)
    ? raw
    : `http://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new TypeError(`Cannot use endpoint "${endpoint}": not a valid URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(
      `Cannot use endpoint "${endpoint}": scheme "${
        url.protocol.slice(0, -1)
      }" is not http or https`,
    );
  }
  if (url.username || url.password) {
    throw new TypeError(
      `Cannot use endpoint "${endpoint}": credentials in the URL are not supported; pass the key as the API key`,
    );
  }
  if (url.hostname === "") {
    throw new TypeError(`Cannot use endpoint "${endpoint}": it has no host`);
  }
  const segments = url.pathname.split("/").filter((s) => s !== "");
  const v1 = segments.indexOf("v1");
  const kept = v1 === -1 ? [...segments, "v1"] : segments.slice(0, v1 + 1);
  return `${url.protocol}//${url.host}/${kept.join("/")}/`;
}

/**
 * Mask an API key for printing: the first and last four characters, or
 * `****` when the key is too short to show any of it safely.
 *
 * @example Usage
 * ```ts
 * import { maskKey } from "./endpoint.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(maskKey("sk-1234567890abcdef"), "sk-1…cdef");
 * assert.equal(maskKey("sk-short"), "****");
 * ```
 */
export function maskKey(key: string): string {
  if (key.length <= 12) return "****";
  return `${key.slice(0, 4)}…${key.slice(-4)}`;
}

/** Why model discovery failed: the server could not be reached, refused the key, or answered oddly. */
export type DiscoveryFailure = "connect" | "auth" | "http" | "invalid";

/** Options of {@linkcode discoverModels}. */
export interface DiscoverOptions {
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** Give up after this many milliseconds (default 30 000). */
  timeoutMs?: number;
  /** Cancels the request. */
  signal?: AbortSignal;
}

/**
 * List the ids served at `GET <base>models`, in the server's order. Failures
 * throw an `Error` whose `cause` is `{ kind: DiscoveryFailure, status? }`.
 *
 * @example Usage
 * ```ts
 * import { discoverModels } from "./endpoint.ts";
 * import { startScriptedServer } from "../testing/scripted_server.ts";
 * import assert from "node:assert/strict";
 *
 * const server = startScriptedServer({ models: ["my-model"] });
 * try {
 *   const [model] = await discoverModels(`${server.origin}/v1/`);
 *   assert.equal(model, "my-model");
 * } finally {
 *   await server.close();
 * }
 * ```
 */
export async function discoverModels(
  baseUrl: string,
  options: DiscoverOptions = {},
): Promise<string[]> {
  const url = new URL("models", baseUrl);
  const { headers, signal } = requestInit(
    { accept: "application/json" },
    options,
  );
  let response: Response;
  try {
    response = await fetch(url, { headers, signal });
  } catch (error) {
    const reason = signal.aborted
      ? `no answer within ${options.timeoutMs ?? 30_000} ms`
      : networkErrorText(error);
    throw new Error(`Cannot reach ${url.href}: ${reason}`, {
      cause: { kind: "connect" },
    });
  }
  const text = await response.text().catch(() => "");
  if (response.status === 401 || response.status === 403) {
    const said = `HTTP ${response.status}${detail(text)}`;
    throw new Error(
      options.apiKey
        ? `The server refused the API key (${said})`
        : response.status === 401
        ? `The server requires an API key, and none was given (${said})`
        : `The server refused the request, and no API key was given (${said})`,
      { cause: { kind: "auth", status: response.status } },
    );
  }
  if (!response.ok) {
    throw new Error(`HTTP ${response.status} from ${url.href}${detail(text)}`, {
      cause: { kind: "http", status: response.status },
    });
  }
  let ids: unknown;
  try {
    ids = (JSON.parse(text) as { data?: { id?: unknown }[] }).data?.map((m) =>
      m.id
    );
  } catch {
    throw new Error(`${url.href} did not answer with JSON`, {
      cause: { kind: "invalid" },
    });
  }
  if (
    !Array.isArray(ids) || ids.length === 0 ||
    !ids.every((id) => typeof id === "string")
  ) {
    throw new Error(`${url.href} lists no models`, {
      cause: { kind: "invalid" },
    });
  }
  return ids as string[];
}

/** Options of {@linkcode probeModel}. */
export interface ProbeModelOptions extends DiscoverOptions {
  /** The model to ask for. */
  model: string;
}

/** What a request for a model `GET /v1/models` does not list got. */
export interface ModelProbe {
  /** The server said it does not serve the model (an HTTP 404 naming it), as it said it. */
  refused?: string;
  /** Otherwise, what the request got, for the warning: `it answered a request for it`, `a request for it got HTTP 400: …`. */
  said: string;
}

/**
 * Ask the server for one token of a model that `GET /v1/models` does not
 * list: some servers answer any name (llama.cpp, SGLang, proxies that route
 * names they do not list), others refuse it (vLLM: HTTP 404 "The model `x`
 * does not exist."; Ollama: 404 'model "x" not found'). Refused only on an
 * HTTP 404 whose message names the model and says "model" (a 404 for a
 * missing route does not); anything else lets the run go on, its
 * fail-fast judging, and says what the request got.
 *
 * @example Usage
 * ```ts
 * import { probeModel } from "./endpoint.ts";
 * import { startSimulator } from "../sim/server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01 });
 * assert.deepEqual(await probeModel(sim.url, { model: "gpt-4o" }), {
 *   refused: "HTTP 404: The model `gpt-4o` does not exist.",
 *   said: "a request for it got HTTP 404: The model `gpt-4o` does not exist.",
 * });
 * assert.deepEqual(await probeModel(sim.url, { model: sim.model }), {
 *   said: "it answered a request for it",
 * });
 * ```
 */
export async function probeModel(
  baseUrl: string,
  options: ProbeModelOptions,
): Promise<ModelProbe> {
  const { headers, signal, timeout, timeoutMs } = requestInit(
    { "content-type": "application/json" },
    options,
  );
  let response: Response, text: string;
  try {
    response = await fetch(new URL("completions", baseUrl), {
      method: "POST",
      headers,
      body: JSON.stringify({
        model: options.model,
        prompt: "Hi",
        max_tokens: 1,
        stream: false,
      }),
      signal,
    });
    text = await response.text();
  } catch (error) {
    return {
      said: `a request for it got no answer (${
        timeout.aborted
          ? `none within ${timeoutMs} ms`
          : networkErrorText(error)
      })`,
    };
  }
  if (response.ok) return { said: "it answered a request for it" };
  const got = `HTTP ${response.status}${detail(text)}`;
  const names = text.includes(options.model) && /model/i.test(text);
  return response.status === 404 && names
    ? { refused: got, said: `a request for it got ${got}` }
    : { said: `a request for it got ${got}` };
}

function detail(body: string): string {
  if (!body) return "";
  try {
    const parsed = JSON.parse(body);
    const message = parsed?.error?.message ?? parsed?.message ?? parsed?.detail;
    if (typeof message === "string") return `: ${message}`;
  } catch { /* not JSON: show the text */ }
  return `: ${body.replace(/\s+/g, " ").slice(0, 200)}`;
}
