/**
 * Headless Chromium driven over its DevTools protocol, from Deno alone (a
 * WebSocket, no puppeteer): open a page, read what its scripts computed,
 * collect its console errors and the URLs it asked for, take a PNG
 * screenshot. Reports are checked with it as a person would see them, with
 * the network blocked (a proxy that does not exist, every host name
 * unresolvable), so a page that needs the network shows it.
 *
 * The browser is Debian's `chromium` (`apt-get install -y chromium`), or the
 * executable named by `CHROMIUM_PATH`.
 *
 * @module
 */

/** Where a Chromium executable is looked for, in order. */
const CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
];

/**
 * The Chromium executable to use: `CHROMIUM_PATH` when set, else the first of
 * `/usr/bin/chromium`, `/usr/bin/chromium-browser`, `/usr/bin/google-chrome`
 * that exists; undefined when none does.
 *
 * @example Usage
 * ```ts
 * import { findChromium } from "./chromium.ts";
 * import assert from "node:assert/strict";
 *
 * const path = findChromium();
 * assert.ok(path === undefined || path.length > 0);
 * ```
 */
export function findChromium(): string | undefined {
  const named = Deno.env.get("CHROMIUM_PATH");
  if (named) return named;
  for (const path of CANDIDATES) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not there
    }
  }
  return undefined;
}

/** Options of {@linkcode HeadlessChromium.launch}. */
export interface ChromiumOptions {
  /** The executable (default {@linkcode findChromium}). */
  executable?: string;
  /** Viewport width, CSS pixels (default 1280). */
  width?: number;
  /** Viewport height, CSS pixels (default 900). */
  height?: number;
  /** Let the page reach the network (default false: every request fails). */
  network?: boolean;
  /** Time allowed for the browser to start and for each command, ms (default 20 000). */
  timeoutMs?: number;
}

/** A console message, uncaught exception or browser log entry of the page. */
export interface ConsoleEntry {
  /** `log`, `warning`, `error`, … (`exception` for an uncaught one). */
  type: string;
  /** Its text. */
  text: string;
}

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

async function waitForFile(
  path: string,
  deadline: number,
  exited: () => boolean,
): Promise<string> {
  while (performance.now() < deadline) {
    try {
      const text = await Deno.readTextFile(path);
      if (text.includes("\n")) return text;
    } catch {
      // not yet written
    }
    if (exited()) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(
    `Cannot start Chromium: no DevTools port file "${path}" ${
      exited() ? "(the browser exited)" : "in time"
    }`,
  );
}

/**
 * One headless Chromium with one page, driven over the DevTools protocol.
 *
 * @example Open a page, read it, take a screenshot
 * ```ts
 * import { findChromium, HeadlessChromium } from "./chromium.ts";
 * import assert from "node:assert/strict";
 *
 * if (findChromium() !== undefined) {
 *   const browser = await HeadlessChromium.launch({ width: 320, height: 200 });
 *   try {
 *     await browser.open("data:text/html,<p id=p>hello</p><script>console.error('oops')</script>");
 *     assert.equal(await browser.evaluate("document.getElementById('p').textContent"), "hello");
 *     assert.deepEqual(browser.console, [{ type: "error", text: "oops" }]);
 *     const png = await browser.screenshot();
 *     assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
 *   } finally {
 *     await browser.close();
 *   }
 * }
 * ```
 */
export class HeadlessChromium {
  /** Console messages, uncaught exceptions and browser log entries, in order. */
  readonly console: ConsoleEntry[] = [];
  /** Every URL the page requested (the page's own included). */
  readonly requests: string[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #socket: WebSocket;
  readonly #dir: string;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, Pending>();
  readonly #waiters: { method: string; resolve: () => void }[] = [];
  #session = "";
  #nextId = 1;
  #closed = false;

  private constructor(
    child: Deno.ChildProcess,
    socket: WebSocket,
    dir: string,
    timeoutMs: number,
  ) {
    this.#child = child;
    this.#socket = socket;
    this.#dir = dir;
    this.#timeoutMs = timeoutMs;
    socket.onmessage = (event) => this.#receive(String(event.data));
    socket.onclose = () => {
      for (const p of this.#pending.values()) {
        p.reject(new Error("Cannot drive Chromium: the connection closed"));
      }
      this.#pending.clear();
    };
  }

  /** Start the browser and open a blank page. */
  static async launch(
    options: ChromiumOptions = {},
  ): Promise<HeadlessChromium> {
    const executable = options.executable ?? findChromium();
    if (executable === undefined) {
      throw new Error(
        "Cannot start Chromium: none installed (apt-get install -y chromium, or set CHROMIUM_PATH)",
      );
    }
    const timeoutMs = options.timeoutMs ?? 20_000;
    const dir = await Deno.makeTempDir({ prefix: "kvbench-chromium-" });
    const args = [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
      "--no-first-run",
      "--no-default-browser-check",
      "--hide-scrollbars",
      "--mute-audio",
      `--user-data-dir=${dir}`,
      "--remote-debugging-port=0",
      `--window-size=${options.width ?? 1280},${options.height ?? 900}`,
    ];
    if (!options.network) {
      args.push(
        "--proxy-server=127.0.0.1:9",
        "--proxy-bypass-list=<-loopback>",
        "--host-resolver-rules=MAP * ~NOTFOUND",
      );
    }
    args.push("about:blank");
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(executable, {
        args,
        stdin: "null",
        stdout: "null",
        stderr: "null",
      }).spawn();
    } catch (error) {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw new Error(
        `Cannot start Chromium "${executable}": ${(error as Error).message}`,
      );
    }
    let exited = false;
    child.status.then(() => (exited = true));
    let socket: WebSocket;
    try {
      const portFile = await waitForFile(
        `${dir}/DevToolsActivePort`,
        performance.now() + timeoutMs,
        () => exited,
      );
      const [port, path] = portFile.trim().split("\n");
      socket = new WebSocket(`ws://127.0.0.1:${port}${path}`);
      await new Promise<void>((resolve, reject) => {
        socket.onopen = () => resolve();
        socket.onerror = () =>
          reject(new Error("Cannot connect to Chromium's DevTools socket"));
      });
    } catch (error) {
      if (!exited) child.kill("SIGKILL");
      await child.status;
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      throw error;
    }
    const browser = new HeadlessChromium(child, socket, dir, timeoutMs);
    try {
      await browser.#attach(options);
    } catch (error) {
      await browser.close();
      throw error;
    }
    return browser;
  }

  async #attach(options: ChromiumOptions): Promise<void> {
    const { targetId } = await this.#send("Target.createTarget", {
      url: "about:blank",
    });
    const { sessionId } = await this.#send("Target.attachToTarget", {
      targetId,
      flatten: true,
    });
    this.#session = String(sessionId);
    await Promise.all([
      this.#send("Page.enable"),
      this.#send("Runtime.enable"),
      this.#send("Log.enable"),
      this.#send("Network.enable"),
      this.#send("Emulation.setDeviceMetricsOverride", {
        width: options.width ?? 1280,
        height: options.height ?? 900,
        deviceScaleFactor: 1,
        mobile: false,
      }),
    ]);
    if (!options.network) {
      await this.#send("Network.emulateNetworkConditions", {
        offline: true,
        latency: 0,
        downloadThroughput: -1,
        uploadThroughput: -1,
      });
    }
  }

  /** Navigate to `url` and wait until its `load` event fired. */
  async open(url: string): Promise<void> {
    const loaded = this.#event("Page.loadEventFired");
    const result = await this.#send("Page.navigate", { url });
    if (typeof result.errorText === "string" && result.errorText !== "") {
      throw new Error(`Cannot open "${url}": ${result.errorText}`);
    }
    await loaded;
  }

  /**
   * Evaluate a JavaScript expression in the page (a promise is awaited) and
   * return its value, copied as JSON.
   */
  async evaluate(expression: string): Promise<unknown> {
    const result = await this.#send("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    });
    const details = result.exceptionDetails as
      | { text?: string; exception?: { description?: string } }
      | undefined;
    if (details !== undefined) {
      throw new Error(
        `Cannot evaluate in the page: ${
          details.exception?.description ?? details.text ?? "exception"
        }`,
      );
    }
    return (result.result as { value?: unknown }).value;
  }

  /** A PNG screenshot of the viewport. */
  async screenshot(): Promise<Uint8Array> {
    const { data } = await this.#send("Page.captureScreenshot", {
      format: "png",
    });
    return Uint8Array.from(atob(String(data)), (c) => c.charCodeAt(0));
  }

  /** Close the browser and remove its profile. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#socket.readyState === WebSocket.OPEN) {
        this.#session = "";
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          this.#send("Browser.close").catch(() => ({})),
          new Promise((r) => (timer = setTimeout(r, 2000))),
        ]);
        clearTimeout(timer);
      }
    } finally {
      const timer = setTimeout(() => {
        try {
          this.#child.kill("SIGKILL");
        } catch {
          // already gone
        }
      }, 3000);
      await this.#child.status;
      clearTimeout(timer);
      if (this.#socket.readyState !== WebSocket.CLOSED) {
        const closed = new Promise((r) =>
          this.#socket.addEventListener("close", r)
        );
        this.#socket.close();
        await closed;
      }
      await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
    }
  }

  /** Close on `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #send(
    method: string,
    params: Record<string, unknown> = {},
  ): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const message: Record<string, unknown> = { id, method, params };
    if (this.#session !== "" && !method.startsWith("Target.")) {
      message.sessionId = this.#session;
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new Error(`Cannot drive Chromium: ${method} timed out`));
      }, this.#timeoutMs);
      this.#pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      this.#socket.send(JSON.stringify(message));
    });
  }

  #event(method: string): Promise<void> {
    return new Promise((resolve) => this.#waiters.push({ method, resolve }));
  }

  #receive(text: string): void {
    const message = JSON.parse(text);
    if (typeof message.id === "number") {
      const pending = this.#pending.get(message.id);
      if (pending === undefined) return;
      this.#pending.delete(message.id);
      if (message.error) {
        pending.reject(
          new Error(`Cannot drive Chromium: ${message.error.message}`),
        );
      } else pending.resolve(message.result ?? {});
      return;
    }
    const params = message.params ?? {};
    switch (message.method) {
      case "Runtime.consoleAPICalled":
        this.console.push({
          type: params.type,
          text: (params.args ?? []).map((a: Record<string, unknown>) =>
            a.value !== undefined ? String(a.value) : String(a.description)
          ).join(" "),
        });
        break;
      case "Runtime.exceptionThrown":
        this.console.push({
          type: "exception",
          text: params.exceptionDetails?.exception?.description ??
            params.exceptionDetails?.text ?? "exception",
        });
        break;
      case "Log.entryAdded":
        this.console.push({
          type: params.entry?.level ?? "log",
          text: params.entry?.text ?? "",
        });
        break;
      case "Network.requestWillBeSent":
        this.requests.push(params.request?.url ?? "");
        break;
    }
    for (let i = this.#waiters.length - 1; i >= 0; i--) {
      if (this.#waiters[i].method === message.method) {
        this.#waiters[i].resolve();
        this.#waiters.splice(i, 1);
      }
    }
  }
}
