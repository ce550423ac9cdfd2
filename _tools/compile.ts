/**
 * `deno task compile`: build the single `kvbench` executable from `cli.ts`
 * with `deno compile`, into `dist/kvbench` (or `--output PATH`).
 *
 * Everything the CLI needs is reached by static imports (`model_configs.json`
 * included), so no `--include` is needed; `--exclude-unused-npm` keeps the
 * test-only tokenizer packages of `deno.json` out of the binary.
 *
 * `deno compile` appends the program to a base runtime, `denort`, which it
 * downloads from dl.deno.land unless `DENORT_BIN` names a local copy (the
 * `denort-<target>.zip` of the same Deno release, unzipped). When neither
 * works, the task says so in one line and exits 1. It builds into a temporary
 * folder beside the output, checks that the result runs as kvbench, and only
 * then renames it into place, so it never leaves a partial binary.
 *
 * @example Usage
 * ```sh
 * deno task compile
 * DENORT_BIN=/opt/denort deno task compile --output /tmp/kvbench
 * ```
 *
 * @module
 */
import { basename, dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

const USAGE = `usage: deno task compile [--output PATH]

Build the kvbench executable from cli.ts with deno compile.

  --output PATH   where to write it (default dist/kvbench)
  -h, --help      show this help

deno compile needs its base runtime, denort: it downloads it from
${denortUrl()}
(also an asset of github.com/denoland/deno/releases/tag/v${Deno.version.deno}),
or uses the file named by the environment variable DENORT_BIN.
`;

/** Why the build stopped, already phrased for the user. */
class BuildError extends Error {}

/**
 * Where `deno compile` fetches the base runtime of this Deno release (the
 * same zip is an asset of the GitHub release).
 */
function denortUrl(): string {
  return `https://dl.deno.land/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;
}

/** Matches deno compile's report of a failed download of its base runtime. */
const DOWNLOAD_FAILURE =
  /Setting up base binary|dl\.deno\.land|error sending request/;

async function build(
  output: string,
  denort: string | undefined,
): Promise<void> {
  const near = relative(Deno.cwd(), output);
  const shown = near && !near.startsWith("..") ? near : output;
  if (denort !== undefined) {
    const info = await Deno.stat(denort).catch(() => undefined);
    if (!info?.isFile) {
      throw new BuildError(
        `Cannot build ${shown}: DENORT_BIN="${denort}" is not a file`,
      );
    }
  }
  const made = await Deno.stat(dirname(output)).then(() => false, () => true);
  await Deno.mkdir(dirname(output), { recursive: true });
  let built = false;
  const temp = await Deno.makeTempDir({
    dir: dirname(output),
    prefix: ".kvbench-build-",
  });
  try {
    const file = resolve(temp, basename(output));
    const compiled = await new Deno.Command(Deno.execPath(), {
      args: [
        "compile",
        "--allow-all",
        "--exclude-unused-npm",
        "--output",
        file,
        "cli.ts",
      ],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!compiled.success) {
      const stderr = new TextDecoder().decode(compiled.stderr);
      if (DOWNLOAD_FAILURE.test(stderr)) {
        throw new BuildError(
          `Cannot build ${shown}: deno compile could not download its base runtime (denort ${Deno.version.deno}) from ${denortUrl()}; download that zip on a machine with access, unzip it and set DENORT_BIN to the denort file inside`,
        );
      }
      console.error(stderr.trimEnd());
      throw new BuildError(
        `Cannot build ${shown}: deno compile failed (exit code ${compiled.code})`,
      );
    }
    // A DENORT_BIN that is a full deno binary ignores the embedded program.
    const check = await new Deno.Command(file, {
      args: ["--version"],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
      signal: AbortSignal.timeout(30_000),
    }).output().catch(() => undefined);
    const version = check && new TextDecoder().decode(check.stdout);
    if (!check?.success || !/^kvbench /.test(version ?? "")) {
      throw new BuildError(
        `Cannot build ${shown}: the built binary does not run kvbench (is DENORT_BIN a denort binary of Deno ${Deno.version.deno}?)`,
      );
    }
    await Deno.rename(file, output);
    built = true;
    const { size } = await Deno.stat(output);
    console.log(
      `Built ${shown} (${(size / 2 ** 20).toFixed(1)} MiB): ${version!.trim()}`,
    );
  } finally {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    // A failed build leaves the tree as it found it.
    if (made && !built) await Deno.remove(dirname(output)).catch(() => {});
  }
}

async function main(args: string[]): Promise<number> {
  let output: string;
  try {
    const { values } = parseArgs({
      args,
      options: {
        output: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    output = resolve(values.output ?? resolve(ROOT, "dist/kvbench"));
  } catch (error) {
    console.error(`${USAGE}\ncompile: error: ${(error as Error).message}`);
    return 2;
  }
  try {
    await build(output, Deno.env.get("DENORT_BIN"));
    return 0;
  } catch (error) {
    if (!(error instanceof BuildError)) throw error;
    console.error(error.message);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
