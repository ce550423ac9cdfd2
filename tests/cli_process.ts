/**
 * Run `cli.ts` in a subprocess, as a user would, and read its output as it
 * comes.
 *
 * @module
 */

const CLI = new URL("../cli.ts", import.meta.url).pathname;

/**
 * Where the commands' run directories go during the tests (not the clone):
 * one folder per test process, removed when it ends.
 */
export const RUNS_DIR: string = Deno.makeTempDirSync({
  prefix: "kvbench-runs-",
});
globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(RUNS_DIR, { recursive: true });
  } catch {
    // already gone
  }
});

/** A running `kvbench` process. */
export interface CliProcess {
  /** The child process. */
  child: Deno.ChildProcess;
  /** Everything printed on stdout so far. */
  stdout(): string;
  /** Everything printed on stderr so far. */
  stderr(): string;
  /** Resolve once stdout matches `pattern` (rejects after `timeoutMs`). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Send a signal. */
  kill(signal?: Deno.Signal): void;
  /** Wait for the exit; resolves to the code and the whole output. */
  done(): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Start `deno run -A cli.ts <args>`. */
export function startCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; fileLimit?: number } =
    {},
): CliProcess {
  const argv = [Deno.execPath(), "run", "-A", "--quiet", CLI, ...args];
  // With `fileLimit`, as after `ulimit -n N` in a shell.
  const limited = options.fileLimit === undefined ? argv : [
    "sh",
    "-c",
    `ulimit -n ${options.fileLimit} && exec "$@"`,
    "sh",
    ...argv,
  ];
  const child = new Deno.Command(limited[0], {
    args: limited.slice(1),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
    env: { NO_COLOR: "1", KVBENCH_RUNS_DIR: RUNS_DIR, ...options.env },
    cwd: options.cwd,
  }).spawn();
  let out = "";
  let errText = "";
  let notify: (() => void) | undefined;
  const pump = async (
    stream: ReadableStream<Uint8Array>,
    add: (s: string) => void,
  ) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      add(text);
      notify?.();
    }
  };
  const pumps = Promise.all([
    pump(child.stdout, (s) => (out += s)),
    pump(child.stderr, (s) => (errText += s)),
  ]);
  const status = child.status;
  return {
    child,
    stdout: () => out,
    stderr: () => errText,
    async waitFor(
      pattern: RegExp,
      timeoutMs = 20_000,
    ): Promise<RegExpMatchArray> {
      const deadline = performance.now() + timeoutMs;
      let exited = false;
      status.then(() => (exited = true));
      while (true) {
        const m = out.match(pattern);
        if (m) return m;
        if (exited || performance.now() > deadline) {
          throw new Error(
            `no ${pattern} in output:\n${out}\nstderr:\n${errText}`,
          );
        }
        await new Promise<void>((resolve) => {
          notify = resolve;
          setTimeout(resolve, 100);
        });
      }
    },
    kill(signal: Deno.Signal = "SIGTERM"): void {
      try {
        child.kill(signal);
      } catch { /* already gone */ }
    },
    async done() {
      const { code } = await status;
      await pumps;
      return { code, stdout: out, stderr: errText };
    },
  };
}

/** Run `cli.ts <args>` to completion. */
export async function runCli(
  args: string[],
  options: { env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = startCli(args, options);
  const timer = setTimeout(
    () => p.kill("SIGKILL"),
    options.timeoutMs ?? 60_000,
  );
  try {
    return await p.done();
  } finally {
    clearTimeout(timer);
  }
}
