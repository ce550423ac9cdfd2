/**
 * `deno run -A _tools/vendor_uplot.ts [--version X.Y.Z]`: write
 * `report/vendor/uplot.ts`, the chart library the HTML report inlines, from
 * the npm package `uplot`: its minified browser build
 * (`dist/uPlot.iife.min.js`, licence header included), its stylesheet
 * (`dist/uPlot.min.css`) and its `LICENSE`, as string constants beside the
 * version and the tarball's integrity. A static import of that module is how
 * `deno compile` carries the library; a report never fetches it.
 *
 * The tarball comes from the npm registry (`NPM_CONFIG_REGISTRY`, else
 * registry.npmjs.org) and is checked against the integrity the registry
 * publishes for that version; `report/vendor_test.ts` checks the module
 * against the package again.
 *
 * @example Usage
 * ```sh
 * deno run -A _tools/vendor_uplot.ts                  # the version below
 * deno run -A _tools/vendor_uplot.ts --version 1.6.32
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";

/** The uPlot version the report uses. */
export const UPLOT_VERSION = "1.6.32";

/** Where the generated module goes. */
export const VENDOR_MODULE: URL = new URL(
  "../lib/report/vendor/uplot.ts",
  import.meta.url,
);

/** The npm registry's base URL (`NPM_CONFIG_REGISTRY`, else the public one), ending in `/`. */
function registry(): string {
  const base = Deno.env.get("NPM_CONFIG_REGISTRY") ??
    Deno.env.get("npm_config_registry") ?? "https://registry.npmjs.org/";
  return base.endsWith("/") ? base : `${base}/`;
}

/** A package's tarball: its files by path (`package/` stripped), and its integrity. */
export interface NpmTarball {
  /** Files by path inside the package (`dist/uPlot.iife.min.js`). */
  files: Map<string, Uint8Array>;
  /** The tarball's `sha512-…` integrity, as the registry publishes it. */
  integrity: string;
}

function octal(bytes: Uint8Array): number {
  const text = new TextDecoder().decode(bytes).replace(/\0.*$/s, "").trim();
  return text === "" ? 0 : parseInt(text, 8);
}

/**
 * The files of a (gunzipped) tar archive, by path, with an npm tarball's
 * leading `package/` folder stripped.
 *
 * @example A one-file archive
 * ```ts
 * import { untar } from "./vendor_uplot.ts";
 * import assert from "node:assert/strict";
 *
 * const header = new Uint8Array(512);
 * const put = (at: number, text: string) => header.set(new TextEncoder().encode(text), at);
 * put(0, "package/a.txt");
 * put(124, "00000000003 ");
 * put(156, "0");
 * const body = new Uint8Array(512);
 * body.set([104, 105, 33]); // "hi!"
 * const tar = new Uint8Array([...header, ...body, ...new Uint8Array(1024)]);
 * assert.equal(new TextDecoder().decode(untar(tar).get("a.txt")), "hi!");
 * ```
 */
export function untar(tar: Uint8Array): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  const decoder = new TextDecoder();
  let longName: string | undefined;
  for (let at = 0; at + 512 <= tar.length;) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (from: number, to: number) =>
      decoder.decode(header.subarray(from, to)).replace(/\0.*$/s, "");
    const size = octal(header.subarray(124, 136));
    const type = String.fromCharCode(header[156] || 48);
    const body = tar.subarray(at + 512, at + 512 + size);
    const prefix = field(345, 500);
    let name = longName ?? (prefix ? `${prefix}/` : "") + field(0, 100);
    longName = undefined;
    if (type === "x") {
      // A pax header: its `path` record names the next file.
      const m = /\d+ path=([^\n]*)\n/.exec(decoder.decode(body));
      if (m) longName = m[1];
    } else if (type === "L") {
      longName = decoder.decode(body).replace(/\0.*$/s, "");
    } else if (type === "0" || type === "7") {
      name = name.replace(/^[^/]+\//, "");
      files.set(name, body.slice());
    }
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

/**
 * Download a package version's tarball from the npm registry, check it
 * against the integrity the registry publishes (and `integrity`, when
 * given), and unpack it.
 *
 * @example uPlot's minified build
 * ```ts
 * import { fetchNpmTarball } from "./vendor_uplot.ts";
 * import assert from "node:assert/strict";
 *
 * const { files, integrity } = await fetchNpmTarball("uplot", "1.6.32");
 * const js = new TextDecoder().decode(files.get("dist/uPlot.iife.min.js"));
 * assert.ok(js.startsWith("/*! https://github.com/leeoniya/uPlot (v1.6.32) *\/"));
 * assert.match(integrity, /^sha512-/);
 * ```
 */
export async function fetchNpmTarball(
  name: string,
  version: string,
  integrity?: string,
): Promise<NpmTarball> {
  const base = registry();
  const where = `${name}@${version}`;
  const metaResponse = await fetch(
    `${base}${name.replace("/", "%2f")}/${version}`,
    { headers: { accept: "application/json" } },
  ).catch((error) => {
    throw new Error(`Cannot fetch ${where}: ${(error as Error).message}`);
  });
  if (!metaResponse.ok) {
    await metaResponse.body?.cancel();
    throw new Error(`Cannot fetch ${where}: HTTP ${metaResponse.status}`);
  }
  const meta = await metaResponse.json();
  const published = meta?.dist?.integrity;
  const tarball = meta?.dist?.tarball;
  if (typeof published !== "string" || typeof tarball !== "string") {
    throw new Error(`Cannot fetch ${where}: the registry names no tarball`);
  }
  if (integrity !== undefined && integrity !== published) {
    throw new Error(
      `Cannot use ${where}: the registry publishes integrity ${published}, expected ${integrity}`,
    );
  }
  const response = await fetch(tarball);
  if (!response.ok || response.body === null) {
    await response.body?.cancel();
    throw new Error(`Cannot fetch ${where}: tarball HTTP ${response.status}`);
  }
  const gz = new Uint8Array(await response.arrayBuffer());
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-512", gz));
  const actual = `sha512-${btoa(String.fromCharCode(...digest))}`;
  if (actual !== published) {
    throw new Error(
      `Cannot use ${where}: the tarball's integrity is ${actual}, the registry's ${published}`,
    );
  }
  const tar = new Uint8Array(
    await new Response(
      new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).arrayBuffer(),
  );
  return { files: untar(tar), integrity: published };
}

/** What {@linkcode vendorModuleSource} writes. */
export interface VendoredUplot {
  /** The package version. */
  version: string;
  /** The tarball's integrity. */
  integrity: string;
  /** `dist/uPlot.iife.min.js`. */
  js: string;
  /** `dist/uPlot.min.css`. */
  css: string;
  /** `LICENSE`. */
  license: string;
}

/** A string literal for a generated module (JSON's; `deno fmt` may requote it). */
const literal = (text: string): string =>
  JSON.stringify(text).replaceAll("\u2028", "\\u2028").replaceAll(
    "\u2029",
    "\\u2029",
  );

/**
 * The source of `report/vendor/uplot.ts` for a vendored uPlot.
 *
 * @example Usage
 * ```ts
 * import { vendorModuleSource } from "./vendor_uplot.ts";
 * import assert from "node:assert/strict";
 *
 * const source = vendorModuleSource({
 *   version: "1.0.0", integrity: "sha512-x", js: "var uPlot=1;", css: ".u{}", license: "MIT",
 * });
 * assert.ok(source.includes('export const UPLOT_VERSION = "1.0.0";'));
 * assert.ok(source.includes('export const UPLOT_JS = "var uPlot=1;";'));
 * ```
 */
export function vendorModuleSource(uplot: VendoredUplot): string {
  return `// Generated by _tools/vendor_uplot.ts from the npm package uplot@${uplot.version}: do not edit.
/**
 * uPlot ${uplot.version} (MIT licence, below), the chart library the HTML
 * report inlines: its minified browser build with its licence header, its
 * stylesheet and its licence, as string constants, so that \`deno compile\`
 * carries them and a report never fetches anything.
 *
 * @module
 */

/** The npm package version. */
export const UPLOT_VERSION = ${literal(uplot.version)};

/** The integrity of the npm tarball the constants come from. */
export const UPLOT_INTEGRITY = ${literal(uplot.integrity)};

/** \`dist/uPlot.iife.min.js\`: defines the global \`uPlot\`. */
export const UPLOT_JS = ${literal(uplot.js)};

/** \`dist/uPlot.min.css\`. */
export const UPLOT_CSS = ${literal(uplot.css)};

/** The package's \`LICENSE\`. */
export const UPLOT_LICENSE = ${literal(uplot.license)};
`;
}

/**
 * Fetch uPlot `version` from npm and return what the module holds.
 *
 * @example Usage
 * ```ts
 * import { fetchUplot } from "./vendor_uplot.ts";
 * import assert from "node:assert/strict";
 *
 * const uplot = await fetchUplot("1.6.32");
 * assert.ok(uplot.license.startsWith("The MIT License"));
 * ```
 */
export async function fetchUplot(
  version: string = UPLOT_VERSION,
): Promise<VendoredUplot> {
  const { files, integrity } = await fetchNpmTarball("uplot", version);
  const text = (path: string): string => {
    const bytes = files.get(path);
    if (bytes === undefined) {
      throw new Error(`Cannot vendor uplot@${version}: no ${path}`);
    }
    return new TextDecoder().decode(bytes);
  };
  return {
    version,
    integrity,
    js: text("dist/uPlot.iife.min.js"),
    css: text("dist/uPlot.min.css"),
    license: text("LICENSE"),
  };
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      version: { type: "string", default: UPLOT_VERSION },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(
      "usage: deno run -A _tools/vendor_uplot.ts [--version X.Y.Z]\n\n" +
        "Write report/vendor/uplot.ts from the npm package uplot.",
    );
    Deno.exit(0);
  }
  try {
    const uplot = await fetchUplot(values.version);
    await Deno.mkdir(new URL(".", VENDOR_MODULE), { recursive: true });
    await Deno.writeTextFile(VENDOR_MODULE, vendorModuleSource(uplot));
    // deno fmt picks the quotes and line breaks; the values do not change.
    const fmt = await new Deno.Command(Deno.execPath(), {
      args: ["fmt", "--quiet", VENDOR_MODULE.pathname],
    }).output();
    if (!fmt.success) throw new Error("Cannot format the vendored module");
    console.log(
      `wrote ${VENDOR_MODULE.pathname}: uplot@${uplot.version}, ${
        uplot.js.length.toLocaleString("en-US")
      } bytes of JS`,
    );
  } catch (error) {
    console.error((error as Error).message);
    Deno.exit(1);
  }
}
