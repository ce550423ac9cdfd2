/**
 * What every subcommand of the command line shares: how it is called, how it
 * reports a usage error, and where it prints.
 *
 * @module
 */
import { dirname } from "node:path";
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { writeAllSync } from "../io/write_all.ts";
import { MAX_TIMER_MS } from "../timer.ts";
import { fetchTransport } from "../transport/fetch.ts";
import { http1Transport, usesProxy } from "../transport/http1.ts";
import type { Transport } from "../transport/transport.ts";
import type { CommandContext } from "./workload.ts";

/** A bad command line: printed with the usage text, exit code 2. */
export class UsageError extends Error {
  /** The usage text of the command that refused the arguments. */
  readonly usage: string;
  /** Make a usage error carrying the command's usage text. */
  constructor(message: string, usage: string) {
    super(message);
    this.name = "UsageError";
    this.usage = usage;
  }
}

/** A failure already explained to the user on stdout/stderr: exit code 1, nothing more printed. */
export class ReportedError extends Error {
  /** The exit code to use. */
  readonly code: number;
  /** Make an error that only carries an exit code. */
  constructor(message: string, code = 1) {
    super(message);
    this.name = "ReportedError";
    this.code = code;
  }
}

/** One subcommand: parses its own arguments, runs, and resolves to an exit code. */
export interface Command {
  /** Name on the command line. */
  name: string;
  /** One line for the top-level help. */
  summary: string;
  /**
   * Run with the arguments after the subcommand name. `signal` aborts on
   * SIGINT/SIGTERM; the command then finishes its report and resolves.
   * `context` lists every workload (for the commands that serve them all).
   */
  run(
    args: string[],
    signal: AbortSignal,
    context: CommandContext,
  ): Promise<number>;
}

const encoder = new TextEncoder();

/** Write text to stdout synchronously (so nothing is lost if the process exits). */
export function out(text: string): void {
  writeAllSync(Deno.stdout, encoder.encode(text));
}

/** Write text to stderr synchronously. */
export function err(text: string): void {
  writeAllSync(Deno.stderr, encoder.encode(text));
}

/**
 * Parse `--flag value` options strictly (no positionals); a parse error
 * becomes a {@linkcode UsageError} carrying `usage`.
 */
export function parseFlags<O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
  usage: string,
): ReturnType<
  typeof parseArgs<
    { args: string[]; options: O; strict: true; allowPositionals: false }
  >
>["values"] {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false })
      .values;
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
}

/**
 * Parse `--flag value` options and positional arguments (paths); a parse
 * error becomes a {@linkcode UsageError} carrying `usage`.
 */
export function parseFlagsAndPaths<O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
  usage: string,
): ReturnType<
  typeof parseArgs<
    { args: string[]; options: O; strict: true; allowPositionals: true }
  >
> {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message, usage);
  }
}

/**
 * The number given to `flag`, or undefined when it was not given; a value
 * that is not a finite number passing `check` is a {@linkcode UsageError}.
 */
export function numberFlag(
  value: string | undefined,
  flag: string,
  options: { check: (n: number) => boolean; usage: string },
): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || !options.check(n)) {
    throw new UsageError(`${flag}: invalid value "${value}"`, options.usage);
  }
  return n;
}

/**
 * Refuse, before a run, a file path it could only fail to write at the end:
 * a directory, a path ending in "/", or a path in a folder that does not
 * exist. An empty path means "none" (as trie's), and passes.
 */
export async function checkOutputPath(
  path: string,
  name: string,
): Promise<void> {
  const refuse = (why: string): never => {
    throw new Error(`Cannot write ${name} "${path}": ${why}`);
  };
  if (path === "") return;
  if (path.endsWith("/")) refuse("it names a folder, not a file");
  const info = await Deno.stat(path).catch(() => undefined);
  if (info?.isDirectory) refuse("it is a directory");
  const dir = dirname(path);
  const parent = await Deno.stat(dir).catch(() => undefined);
  if (parent === undefined) refuse(`there is no folder "${dir}"`);
  if (!parent!.isDirectory) refuse(`"${dir}" is not a folder`);
}

/** The longest wait a timer can take, in seconds: 2^31 − 1 ms (24.8 days). */
export const MAX_WAIT_S: number = MAX_TIMER_MS / 1000;

/**
 * Whether `name` is an HTTP header name (an RFC 9110 token).
 *
 * @example Usage
 * ```ts
 * import { isHeaderName } from "./common.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(isHeaderName("X-Team"), true);
 * assert.equal(isHeaderName("X Team"), false);
 * ```
 */
export function isHeaderName(name: string): boolean {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name);
}

/**
 * `K:V` header arguments as a header object; a value without a colon, or an
 * empty name, is an error (thrown as a `TypeError` naming the argument).
 */
export function parseHeaders(
  values: readonly string[],
): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const value of values) {
    const colon = value.indexOf(":");
    const name = value.slice(0, colon).trim();
    if (colon <= 0 || !isHeaderName(name)) {
      throw new TypeError(`header "${value}": expected NAME:VALUE`);
    }
    headers[name] = value.slice(colon + 1).trim();
  }
  return headers;
}

/** A JSON object argument (extra body fields); anything else is a `TypeError`. */
export function parseJsonObject(
  value: string,
  what: string,
): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new TypeError(`${what}: not JSON: ${value.slice(0, 80)}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new TypeError(
      `${what}: expected a JSON object, got ${value.slice(0, 80)}`,
    );
  }
  return parsed as Record<string, unknown>;
}

/** The API a request goes to. */
export type ApiName = "completions" | "chat";

/** `completions` or `chat`; anything else is a `TypeError`. */
export function parseApi(value: string): ApiName {
  if (value !== "completions" && value !== "chat") {
    throw new TypeError(`api must be completions or chat, not "${value}"`);
  }
  return value;
}

/** The transports a command line can choose. */
export type TransportName = "auto" | "http1" | "fetch";

/** `auto`, `http1` or `fetch`; anything else is a `TypeError`. */
export function parseTransport(value: string): TransportName {
  if (value !== "auto" && value !== "http1" && value !== "fetch") {
    throw new TypeError(
      `transport must be auto, http1 or fetch, not "${value}"`,
    );
  }
  return value;
}

/**
 * The transport for `name` and what to call it in reports: `auto` is the
 * fast HTTP/1.1 transport unless a proxy variable applies to `baseUrl`.
 */
export function chooseTransport(
  name: TransportName,
  baseUrl: string,
): { transport: Transport; label: string } {
  const url = new URL(baseUrl);
  if (name === "fetch") return { transport: fetchTransport(), label: "fetch" };
  if (name === "http1") return { transport: http1Transport(), label: "http1" };
  return usesProxy(url)
    ? { transport: fetchTransport(), label: "fetch (a proxy applies)" }
    : { transport: http1Transport(), label: "http1" };
}

/**
 * One status line redrawn in place on a terminal (stdout), and nothing at
 * all when stdout is not a terminal, so logs and pipes stay clean. Text
 * printed through {@linkcode LiveLine.print} clears the line first and
 * redraws it after.
 */
export class LiveLine {
  readonly #tty = Deno.stdout.isTerminal();
  #text = "";

  /** Whether anything is drawn (stdout is a terminal). */
  get active(): boolean {
    return this.#tty;
  }

  /** Replace the status line. */
  update(text: string): void {
    if (!this.#tty) return;
    this.#text = text;
    out(`\r\x1b[2K${text}`);
  }

  /** Print text above the status line. */
  print(text: string): void {
    if (!this.#tty || this.#text === "") {
      out(text);
      return;
    }
    out(`\r\x1b[2K${text}`);
    out(this.#text);
  }

  /** Remove the status line. */
  clear(): void {
    if (this.#tty && this.#text !== "") out("\r\x1b[2K");
    this.#text = "";
  }
}
