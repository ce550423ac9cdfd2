/**
 * Downloads from the Hugging Face Hub (or any HTTP server): atomic file
 * downloads, the `HF_ENDPOINT` / `HF_TOKEN` / `HF_HUB_OFFLINE` / cache-folder
 * conventions of `huggingface_hub`, and a one-line terminal progress bar.
 *
 * @module
 */

import { writeAll } from "./write_all.ts";
import { dirname, join } from "node:path";

/** Options of {@linkcode downloadFile}. */
export interface DownloadOptions {
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Cancels the download; the temporary file is removed. */
  signal?: AbortSignal;
  /** Called with the bytes received so far and the expected total, when known. */
  onProgress?: (received: number, total?: number) => void;
  /** The fetch to use (default: the global `fetch`). */
  fetch?: typeof fetch;
}

/**
 * Download `url` to `dest` atomically: the body is streamed to
 * `<dest>.tmp-<random>`, flushed, then renamed onto `dest`. On any failure
 * (HTTP error, body shorter than `content-length`, broken connection, abort)
 * the temporary file is deleted and an
 * `Error("Cannot download <url>: <reason>")` is thrown, so `dest` only ever
 * appears complete. Parent folders are created as needed. For an HTTP error
 * status, the thrown error's `cause.status` holds the status code.
 *
 * @example Usage
 * ```ts
 * import { downloadFile } from "./hub.ts";
 * import { serveFakeHub } from "../testing/fake_hub.ts";
 * import assert from "node:assert/strict";
 *
 * // A stand-in for the Hub; for the real one, download from
 * // `${hfEndpoint()}/gpt2/resolve/main/tokenizer.json` with `token: hfToken()`.
 * const hub = serveFakeHub(() => new Response('{"model":{}}'));
 * const dir = await Deno.makeTempDir();
 * const dest = `${dir}/gpt2/tokenizer.json`; // parent folders are created
 * await downloadFile(`${hub.url}/gpt2/resolve/main/tokenizer.json`, dest, { token: "hf_abc" });
 * assert.equal(await Deno.readTextFile(dest), '{"model":{}}');
 * assert.equal(hub.requests[0].authorization, "Bearer hf_abc");
 * await hub.server.shutdown();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function downloadFile(
  url: string,
  dest: string,
  options: DownloadOptions = {},
): Promise<void> {
  const tmp = `${dest}.tmp-${crypto.randomUUID().slice(0, 8)}`;
  let file: Deno.FsFile | undefined;
  try {
    const headers = new Headers();
    if (options.token) headers.set("authorization", `Bearer ${options.token}`);
    const response = await (options.fetch ?? fetch)(url, {
      headers,
      signal: options.signal,
    });
    if (!response.ok) {
      await response.body?.cancel().catch(() => {});
      throw new DownloadFailure(
        httpReason(response, options.token),
        response.status,
      );
    }
    // With a content-encoding the header counts compressed bytes, and fetch
    // hands out decompressed ones: only an identity body can be checked.
    const encoding = response.headers.get("content-encoding");
    const lengthHeader = response.headers.get("content-length");
    const total = lengthHeader !== null && /^\d+$/.test(lengthHeader) &&
        (encoding === null || encoding === "identity")
      ? Number(lengthHeader)
      : undefined;
    await Deno.mkdir(dirname(dest), { recursive: true });
    file = await Deno.open(tmp, { write: true, createNew: true });
    let received = 0;
    options.onProgress?.(received, total);
    if (response.body !== null) {
      for await (const chunk of response.body) {
        await writeAll(file, chunk);
        received += chunk.length;
        options.onProgress?.(received, total);
      }
    }
    if (total !== undefined && received !== total) {
      throw new DownloadFailure(
        `body cut short (${received} of ${total} bytes)`,
      );
    }
    await file.sync();
    file.close();
    file = undefined;
    await Deno.rename(tmp, dest);
  } catch (error) {
    try {
      file?.close();
    } catch {
      // already closed
    }
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`Cannot download ${url}: ${failureReason(error)}`, {
      cause: error,
    });
  }
}

/** A download failure whose message is already the reason to report. */
class DownloadFailure extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
  }
}

/**
 * The HTTP status that made {@linkcode downloadFile} fail, or `undefined` when
 * it failed for another reason (network, cut body, abort).
 *
 * @example Usage
 * ```ts
 * import { downloadFile, downloadStatus } from "./hub.ts";
 * import { serveFakeHub } from "../testing/fake_hub.ts";
 * import assert from "node:assert/strict";
 *
 * const hub = serveFakeHub(() => new Response("Entry not found", { status: 404 }));
 * const dir = await Deno.makeTempDir();
 * let missing = false;
 * try {
 *   await downloadFile(`${hub.url}/gpt2/resolve/main/nothing.json`, `${dir}/nothing.json`);
 * } catch (error) {
 *   if (downloadStatus(error) !== 404) throw error;
 *   missing = true; // an optional file the repository does not have
 * }
 * assert.equal(missing, true);
 * assert.equal(downloadStatus(new Error("connection reset")), undefined);
 * await hub.server.shutdown();
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export function downloadStatus(error: unknown): number | undefined {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause instanceof DownloadFailure ? cause.status : undefined;
}

function httpReason(response: Response, token: string | undefined): string {
  let reason = `HTTP ${response.status}${
    response.statusText ? ` ${response.statusText}` : ""
  }`;
  // The Hub explains refusals (gated repo, missing file) in this header.
  const hubMessage = response.headers.get("x-error-message");
  if (hubMessage) reason += ` (${hubMessage})`;
  if ((response.status === 401 || response.status === 403) && !token) {
    reason += "; set HF_TOKEN if the repository is gated or private";
  }
  return reason;
}

function failureReason(error: unknown): string {
  if (error instanceof DownloadFailure) return error.message;
  if (error instanceof DOMException && error.name === "AbortError") {
    return "aborted";
  }
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0];
}

/**
 * The Hub's base URL: env `HF_ENDPOINT`, else `https://huggingface.co`, with
 * trailing slashes removed.
 *
 * @example Usage
 * ```ts
 * import { hfEndpoint } from "./hub.ts";
 * import { withEnv } from "../testing/with_env.ts";
 * import assert from "node:assert/strict";
 *
 * await withEnv({ HF_ENDPOINT: undefined }, () => {
 *   assert.equal(hfEndpoint(), "https://huggingface.co");
 * });
 * await withEnv({ HF_ENDPOINT: "https://hf-mirror.example/" }, () => {
 *   const url = `${hfEndpoint()}/datasets/lightseekorg/trie-dataset/resolve/main/code_qa_8k.jsonl`;
 *   assert.ok(url.startsWith("https://hf-mirror.example/datasets/")); // trailing slash removed
 * });
 * ```
 */
export function hfEndpoint(): string {
  const endpoint = Deno.env.get("HF_ENDPOINT") || "https://huggingface.co";
  return endpoint.replace(/\/+$/, "");
}

/**
 * The Hub access token: env `HF_TOKEN`, else `HUGGING_FACE_HUB_TOKEN`, else
 * `undefined` (empty values count as unset).
 *
 * @example Usage
 * ```ts
 * import { hfToken } from "./hub.ts";
 * import { withEnv } from "../testing/with_env.ts";
 * import assert from "node:assert/strict";
 *
 * await withEnv({ HF_TOKEN: "hf_abc" }, () => {
 *   const headers = hfToken() ? { authorization: `Bearer ${hfToken()}` } : {};
 *   assert.deepEqual(headers, { authorization: "Bearer hf_abc" });
 * });
 * await withEnv({ HF_TOKEN: "", HUGGING_FACE_HUB_TOKEN: undefined }, () => {
 *   assert.equal(hfToken(), undefined); // empty counts as unset
 * });
 * ```
 */
export function hfToken(): string | undefined {
  return Deno.env.get("HF_TOKEN") || Deno.env.get("HUGGING_FACE_HUB_TOKEN") ||
    undefined;
}

/**
 * Whether `HF_HUB_OFFLINE` asks for offline mode (`1`, `true`, `yes` or `on`,
 * any case).
 *
 * @example Usage
 * ```ts
 * import { hfOffline } from "./hub.ts";
 * import { withEnv } from "../testing/with_env.ts";
 * import assert from "node:assert/strict";
 *
 * await withEnv({ HF_HUB_OFFLINE: "1" }, () => assert.equal(hfOffline(), true));
 * await withEnv({ HF_HUB_OFFLINE: "True" }, () => assert.equal(hfOffline(), true));
 * await withEnv({ HF_HUB_OFFLINE: "0" }, () => assert.equal(hfOffline(), false));
 * ```
 */
export function hfOffline(): boolean {
  const value = (Deno.env.get("HF_HUB_OFFLINE") ?? "").trim().toLowerCase();
  return ["1", "true", "yes", "on"].includes(value);
}

/**
 * The Hub cache folder, as `huggingface_hub` finds it: `HF_HUB_CACHE`, else
 * `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else
 * `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
 *
 * @example Usage
 * ```ts
 * import { hfHubCacheDir } from "./hub.ts";
 * import { withEnv } from "../testing/with_env.ts";
 * import assert from "node:assert/strict";
 *
 * // With none of the variables set: ~/.cache/huggingface/hub
 * const unset = { HF_HUB_CACHE: undefined, HUGGINGFACE_HUB_CACHE: undefined };
 * await withEnv({ ...unset, HF_HOME: "/data/hf" }, () => {
 *   assert.equal(hfHubCacheDir(), "/data/hf/hub");
 * });
 * await withEnv({ HF_HUB_CACHE: "/cache/hub", HF_HOME: "/data/hf" }, () => {
 *   assert.equal(hfHubCacheDir(), "/cache/hub");
 * });
 * ```
 */
export function hfHubCacheDir(): string {
  const env = (name: string): string | undefined =>
    Deno.env.get(name) || undefined;
  const explicit = env("HF_HUB_CACHE") ?? env("HUGGINGFACE_HUB_CACHE");
  if (explicit) return explicit;
  const home = env("HF_HOME") ??
    join(
      env("XDG_CACHE_HOME") ??
        join(env("HOME") ?? env("USERPROFILE") ?? ".", ".cache"),
      "huggingface",
    );
  return join(home, "hub");
}

/** Where a {@linkcode progressBar} draws. `Deno.stderr` is one. */
export interface ProgressWriter {
  /** Write bytes synchronously; returns how many were written. */
  writeSync(p: Uint8Array): number;
  /** Whether the output is a terminal. */
  isTerminal(): boolean;
}

/** Options of {@linkcode progressBar}. */
export interface ProgressBarOptions {
  /** Where to draw (default `Deno.stderr`). */
  writer?: ProgressWriter;
  /** Draw at all (default: only when the writer is a terminal). */
  enabled?: boolean;
  /** Characters between the brackets (default 30). */
  width?: number;
  /** Least time between two redraws, in ms (default 100). */
  intervalMs?: number;
}

/** A one-line progress display. */
export interface ProgressBar {
  /** Report progress; redraws at most every `intervalMs`. */
  update(received: number, total?: number): void;
  /** Draw the final state and end the line (only if something was drawn). */
  done(): void;
}

/**
 * A one-line progress bar for byte counts, redrawn in place with `\r`:
 * `label [#####-----]  50% 3.0/6.0 MB` (without a known total:
 * `label 3.0 MB`). It draws only when the writer is a terminal, so it is a
 * no-op when stderr is redirected.
 *
 * @example Usage
 * ```ts
 * import { progressBar } from "./hub.ts";
 * import assert from "node:assert/strict";
 *
 * let output = "";
 * const terminal = {
 *   writeSync(bytes: Uint8Array): number {
 *     output += new TextDecoder().decode(bytes);
 *     return bytes.length;
 *   },
 *   isTerminal: () => true,
 * };
 * const bar = progressBar("agentic_coding_8k.jsonl", { writer: terminal, width: 10 });
 * bar.update(3_000_000, 6_000_000);
 * bar.done();
 * assert.ok(output.endsWith("\ragentic_coding_8k.jsonl [#####-----]  50% 3.0/6.0 MB\x1b[K\n"));
 * ```
 */
export function progressBar(
  label: string,
  options: ProgressBarOptions = {},
): ProgressBar {
  const writer = options.writer ?? Deno.stderr;
  const enabled = options.enabled ?? writer.isTerminal();
  const width = options.width ?? 30;
  const intervalMs = options.intervalMs ?? 100;
  const encoder = new TextEncoder();
  let lastDraw = -Infinity;
  let drawn = false;
  let state: { received: number; total?: number } = { received: 0 };
  const draw = (): void => {
    const { received, total } = state;
    let line = label;
    if (total !== undefined && total > 0) {
      const fraction = Math.min(received / total, 1);
      const filled = Math.floor(fraction * width);
      const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
      line += ` [${"#".repeat(filled)}${
        "-".repeat(width - filled)
      }] ${percent} ${megabytes(received)}/${megabytes(total)} MB`;
    } else {
      line += ` ${megabytes(received)} MB`;
    }
    writer.writeSync(encoder.encode(`\r${line}\x1b[K`));
    drawn = true;
    lastDraw = performance.now();
  };
  return {
    update(received: number, total?: number): void {
      state = { received, total };
      if (enabled && performance.now() - lastDraw >= intervalMs) draw();
    },
    done(): void {
      if (!enabled || !drawn) return;
      draw();
      writer.writeSync(encoder.encode("\n"));
    },
  };
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
