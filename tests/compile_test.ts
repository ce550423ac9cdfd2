/**
 * The single executable: `cli.ts` reaches everything it needs through static
 * imports (so `deno compile` embeds it all), and `_tools/compile.ts` either
 * builds a working `kvbench` or says in one line why it cannot, leaving no
 * partial binary behind.
 *
 * @module
 */
import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const ROOT_PATH = ROOT.pathname;
const DENORT_BIN = Deno.env.get("DENORT_BIN");

async function deno(
  args: string[],
  env: Record<string, string> = {},
  options: { clearDenort?: boolean } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const vars: Record<string, string> = {
    ...Deno.env.toObject(),
    NO_COLOR: "1",
    ...env,
  };
  if (options.clearDenort) delete vars.DENORT_BIN;
  const output = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT_PATH,
    env: vars,
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(240_000),
  }).output();
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return {
    code: output.code,
    stdout: decode(output.stdout),
    stderr: decode(output.stderr),
  };
}

/** A port nothing listens on: a proxy there refuses every download. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Non-test TypeScript files of the CLI's source tree. */
async function* sourceFiles(): AsyncGenerator<string> {
  yield "cli.ts";
  yield "mod.ts";
  for (const dir of ["lib", "workloads"]) {
    const pending = [dir];
    while (pending.length > 0) {
      const current = pending.pop()!;
      for await (const entry of Deno.readDir(new URL(current, ROOT))) {
        const path = `${current}/${entry.name}`;
        if (entry.isDirectory) pending.push(path);
        else if (path.endsWith(".ts") && !path.endsWith("_test.ts")) {
          yield path;
        }
      }
    }
  }
}

Deno.test("cli.ts: the module graph holds only local files, npm packages and built-ins, all static", async () => {
  const { code, stdout, stderr } = await deno(["info", "--json", "cli.ts"]);
  assert.equal(code, 0, stderr);
  const info = JSON.parse(stdout) as {
    modules: {
      specifier: string;
      kind?: string;
      dependencies?: { specifier: string; isDynamic?: boolean }[];
    }[];
  };
  const outside = info.modules.map((m) => m.specifier).filter((s) =>
    !(s.startsWith(ROOT.href) || s.startsWith("npm:") || s.startsWith("node:"))
  );
  assert.deepEqual(outside, []);
  const dynamic = info.modules.flatMap((m) =>
    (m.dependencies ?? []).filter((d) => d.isDynamic).map((d) =>
      `${m.specifier} → ${d.specifier}`
    )
  );
  assert.deepEqual(dynamic, []);
  // The bundled model configs are embedded by a static JSON import.
  assert.ok(
    info.modules.some((m) =>
      m.specifier ===
        new URL("model_configs.json", ROOT).href &&
      m.kind === "asserted"
    ),
  );
});

Deno.test("source tree: no dynamic import and no file read beside a module", async () => {
  // Comment lines are skipped: JSDoc examples may show user code.
  const forbidden =
    /\bimport\s*\(|\brequire\s*\(|import\.meta\.(url|dirname|filename|resolve)\b/;
  const hits: string[] = [];
  let files = 0;
  for await (const path of sourceFiles()) {
    files++;
    const lines = (await Deno.readTextFile(new URL(path, ROOT))).split("\n");
    lines.forEach((line, i) => {
      const code = line.trim();
      if (/^(\*|\/\/|\/\*)/.test(code)) return;
      if (forbidden.test(code)) hits.push(`${path}:${i + 1}: ${code}`);
    });
  }
  assert.ok(files > 20, `only ${files} source files found`);
  assert.deepEqual(hits, []);
});

Deno.test("deno task compile: without DENORT_BIN and without network, one line, exit 1, no binary", async () => {
  // A fresh DENO_DIR holds no cached denort; the npm cache is shared so the
  // packages resolve offline; the proxy refuses the download.
  const denoDir = await Deno.makeTempDir({ prefix: "kvbench-deno-dir-" });
  const out = await Deno.makeTempDir({ prefix: "kvbench-dist-" });
  try {
    const info = JSON.parse((await deno(["info", "--json"])).stdout);
    await Deno.symlink(info.npmCache, `${denoDir}/npm`);
    const proxy = `http://127.0.0.1:${closedPort()}`;
    const result = await deno(
      ["run", "-A", "_tools/compile.ts", "--output", `${out}/dist/kvbench`],
      {
        DENO_DIR: denoDir,
        HTTPS_PROXY: proxy,
        HTTP_PROXY: proxy,
        ALL_PROXY: proxy,
        NO_PROXY: "",
      },
      { clearDenort: true },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.equal(result.stdout, "");
    const lines = result.stderr.trimEnd().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0],
      /^Cannot build .*dist\/kvbench: deno compile could not download its base runtime \(denort \d+\.\d+\.\d+\) from https:\/\/dl\.deno\.land\/release\/v\d+\.\d+\.\d+\/denort-[\w-]+\.zip; download that zip on a machine with access, unzip it and set DENORT_BIN to the denort file inside$/,
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(out)), []);
  } finally {
    await Deno.remove(denoDir, { recursive: true });
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("deno task compile: a DENORT_BIN that is not a file is refused in one line", async () => {
  const out = await Deno.makeTempDir({ prefix: "kvbench-dist-" });
  try {
    const result = await deno([
      "run",
      "-A",
      "_tools/compile.ts",
      "--output",
      `${out}/kvbench`,
    ], { DENORT_BIN: `${out}/missing-denort` });
    assert.equal(result.code, 1);
    assert.equal(
      result.stderr,
      `Cannot build ${out}/kvbench: DENORT_BIN="${out}/missing-denort" is not a file\n`,
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(out)), []);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("deno task compile: a DENORT_BIN that is deno itself builds nothing that stays", async () => {
  // deno ignores an embedded program, so the result would not be kvbench.
  const out = await Deno.makeTempDir({ prefix: "kvbench-dist-" });
  try {
    const result = await deno([
      "run",
      "-A",
      "_tools/compile.ts",
      "--output",
      `${out}/kvbench`,
    ], { DENORT_BIN: Deno.execPath() });
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^Cannot build .*kvbench: the built binary does not run kvbench \(is DENORT_BIN a denort binary of Deno \d+\.\d+\.\d+\?\)\n$/,
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(out)), []);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test({
  name: "deno task compile: with DENORT_BIN, a kvbench binary that runs",
  ignore: DENORT_BIN === undefined,
  async fn() {
    const out = await Deno.makeTempDir({ prefix: "kvbench-dist-" });
    try {
      const result = await deno([
        "run",
        "-A",
        "_tools/compile.ts",
        "--output",
        `${out}/kvbench`,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^Built .*kvbench \(\d+\.\d MiB\): kvbench /);
      const help = await new Deno.Command(`${out}/kvbench`, {
        args: ["--help"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(help.code, 0);
      assert.match(
        new TextDecoder().decode(help.stdout),
        /usage: kvbench <command>/,
      );
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});
