/**
 * The check before a run sends anything: the endpoint answers, takes the
 * key, and serves the model (discovered when none is given), as `kvbench
 * benchmark` does it; one request, `GET /v1/models`.
 *
 * @module
 */
import { discoverModels, probeModel } from "./endpoint.ts";

/** Options of {@linkcode checkEndpoint}. */
export interface CheckEndpointOptions {
  /** Sent as `Authorization: Bearer <key>`. */
  apiKey?: string;
  /** The model asked for; without it, the first one the server lists. */
  model?: string;
  /** Cancels the request. */
  signal?: AbortSignal;
  /**
   * Ask once for a model the server does not list, to refuse one it does
   * not serve (default true; a worker, whose parent asked, passes false).
   */
  probe?: boolean;
  /** How the user names the key and the model, in errors (default `api_key=`, `model=`). */
  keys?: { apiKey: string; model: string };
}

/** What the server said. */
export interface EndpointCheck {
  /** The model to send: the one asked for, or the first listed. */
  model: string;
  /** True when the model was discovered (none was asked for). */
  discovered: boolean;
  /** The ids `GET /v1/models` lists. */
  models: string[];
  /**
   * A warning when the model asked for is not listed but the server
   * answered a request for it (llama.cpp, SGLang and proxies take names
   * they do not list); one it refuses (HTTP 404) is an error instead.
   */
  warning?: string;
}

/**
 * Check the endpoint, the key and the model before a run: throws one-line
 * errors (`Cannot reach …`, `… refused the API key …; check api_key=`), and
 * resolves to the model to send.
 *
 * @example Usage
 * ```ts
 * import { checkEndpoint } from "./preflight_request.ts";
 * import { startSimulator } from "../sim/server.ts";
 * import assert from "node:assert/strict";
 *
 * await using sim = await startSimulator({ timeScale: 0.01, apiKey: "sk-right" });
 * const found = await checkEndpoint(sim.url, { apiKey: "sk-right" });
 * assert.equal(found.model, sim.model);
 * assert.equal(found.discovered, true);
 * await assert.rejects(checkEndpoint(sim.url, { apiKey: "sk-wrong" }), {
 *   message: `The server refused the API key (HTTP 401: Incorrect API key provided.): check api_key= (or $OPENAI_API_KEY)`,
 * });
 * // A model the server neither lists nor serves: refused before any run.
 * await assert.rejects(checkEndpoint(sim.url, { apiKey: "sk-right", model: "other" }), {
 *   message: `The server does not serve "other" (HTTP 404: The model \`other\` does not exist.); it serves ${sim.model}: name one with model=, or leave it out`,
 * });
 * ```
 */
export async function checkEndpoint(
  baseUrl: string,
  options: CheckEndpointOptions = {},
): Promise<EndpointCheck> {
  const keys = options.keys ?? { apiKey: "api_key=", model: "model=" };
  let models: string[];
  try {
    models = await discoverModels(baseUrl, {
      apiKey: options.apiKey,
      signal: options.signal,
    });
  } catch (error) {
    const message = (error as Error).message;
    const kind = ((error as Error).cause as { kind?: string } | undefined)
      ?.kind;
    if (kind === "auth") {
      throw new Error(
        `${message}: check ${keys.apiKey} (or $OPENAI_API_KEY)`,
      );
    }
    if (kind === "connect") {
      throw new Error(`${message}: is a model server running there?`);
    }
    if (options.model === undefined) {
      throw new Error(
        `${message}: cannot discover the model; name it with ${keys.model}`,
      );
    }
    // A server without /v1/models (some proxies): the model named is sent.
    return {
      model: options.model,
      discovered: false,
      models: [],
      warning: `${message}: the model is not checked`,
    };
  }
  if (options.model === undefined) {
    return { model: models[0], discovered: true, models };
  }
  const check: EndpointCheck = {
    model: options.model,
    discovered: false,
    models,
  };
  if (!models.includes(options.model)) {
    const listed =
      `${baseUrl}models does not list "${options.model}" (it lists: ${
        models.join(", ")
      })`;
    if (options.probe === false) {
      check.warning = listed;
      return check;
    }
    const probe = await probeModel(baseUrl, {
      model: options.model,
      apiKey: options.apiKey,
      signal: options.signal,
    });
    if (probe.refused !== undefined) {
      throw new Error(
        `The server does not serve "${options.model}" (${probe.refused}); it serves ${
          models.join(", ")
        }: name one with ${keys.model}, or leave it out`,
      );
    }
    check.warning = `${listed}, but ${probe.said}: going on`;
  }
  return check;
}
