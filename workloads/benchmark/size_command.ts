/**
 * `kvbench size MODEL|PATH`: the KV-cache arithmetic of a model on a
 * deployment — the derivation per layer group, bytes per token per
 * tensor-parallel rank and for the whole model, the tokens a GPU or offload
 * capacity holds, and the workload `kvbench benchmark` would run.
 *
 * @module
 */
import {
  type Command,
  numberFlag,
  out,
  parseFlagsAndPaths,
  UsageError,
} from "../../lib/cli/common.ts";
import { renderTable } from "../../lib/format/table.ts";
import {
  gpuBytesPerRequest,
  KV_CACHE_DTYPES,
  type KvSizing,
  sizeKv,
} from "../../lib/models/kv_size.ts";
import {
  bytesPerToken,
  offloadSizeGib,
} from "../../lib/models/model_config.ts";
import {
  type ModelSource,
  resolveModelLayout,
} from "../../lib/models/model_source.ts";
import { layoutFromGguf } from "../../lib/models/gguf_layout.ts";
import {
  compareCapacity,
  probeServerCapacity,
  type ServerCapacity,
} from "../../lib/server/capacity.ts";
import {
  type BenchmarkSizing,
  renderBenchmarkSpec,
  sizeBenchmark,
  sizeBenchmarkFromLayout,
} from "./sizing.ts";

const USAGE =
  `usage: kvbench size MODEL|PATH [--tp N] [--kv-cache-dtype D] [--offload-size GB] [--input-length N] [--json]

The KV cache of a model on a deployment: the derivation per layer group, bytes
per token per tensor-parallel rank and for the whole model, the tokens a GPU
or offload capacity holds, and the workload kvbench benchmark would run.
MODEL is a name from model_configs.json; PATH a config.json or a folder
holding one; or a Hugging Face id (owner/name), read from the Hugging Face
cache, kvbench's cache, or downloaded (HF_ENDPOINT, HF_TOKEN; not with
HF_HUB_OFFLINE).

options:
  --tp N              tensor-parallel ranks (default: the table's, else 1)
  --kv-cache-dtype D  ${KV_CACHE_DTYPES.join(", ")}
                      (default auto: the config's kv_cache_scheme, else the model dtype)
  --mtp               count the checkpoint's MTP layers (speculative decoding on)
  --offload-size GB   offload capacity over all ranks, GiB (default: the table's)
  --gpu-kv-gb GB      GPU KV memory per rank, GiB: the tokens it holds
  --input-length N    tokens per context (default 32000)
  --endpoint URL      ask the server its capacity (vLLM, SGLang: /metrics; llama.cpp:
                      /props), compare it with the figures, size the workload from
                      its offload tokens when no offload size is given, and size a
                      llama.cpp model from its GGUF metadata when no MODEL is given
  --json              print the figures as JSON
  -h, --help          show this help
`;

const n = (x: number): string => Math.round(x).toLocaleString("en-US");

function bytes(x: number): string {
  if (x >= 1024 ** 3) return `${(x / 1024 ** 3).toFixed(2)} GiB`;
  if (x >= 1024 ** 2) return `${(x / 1024 ** 2).toFixed(2)} MiB`;
  return `${n(x)} B`;
}

interface SizeOptions {
  spec?: string;
  endpoint?: string;
  tp?: number;
  kvCacheDtype?: string;
  mtp: boolean;
  offloadGib?: number;
  gpuKvGib?: number;
  inputLength: number;
  json: boolean;
}

function parse(args: string[]): SizeOptions | undefined {
  const { values, positionals } = parseFlagsAndPaths(args, {
    tp: { type: "string" },
    "kv-cache-dtype": { type: "string" },
    mtp: { type: "boolean" },
    "offload-size": { type: "string" },
    "gpu-kv-gb": { type: "string" },
    "input-length": { type: "string" },
    json: { type: "boolean" },
    endpoint: { type: "string" },
    help: { type: "boolean", short: "h" },
  }, USAGE);
  if (values.help) return undefined;
  if (
    positionals.length > 1 ||
    (positionals.length === 0 && values.endpoint === undefined)
  ) {
    throw new UsageError(
      positionals.length === 0
        ? "the following arguments are required: MODEL|PATH (or --endpoint of a llama.cpp server giving its GGUF metadata)"
        : `one MODEL|PATH, not ${positionals.length}`,
      USAGE,
    );
  }
  if (values.endpoint !== undefined) {
    try {
      new URL(values.endpoint);
    } catch {
      throw new UsageError(
        `--endpoint: invalid URL "${values.endpoint}"`,
        USAGE,
      );
    }
  }
  const kvCacheDtype = values["kv-cache-dtype"];
  if (kvCacheDtype !== undefined && !KV_CACHE_DTYPES.includes(kvCacheDtype)) {
    throw new UsageError(
      `--kv-cache-dtype: invalid value "${kvCacheDtype}" (expected one of ${
        KV_CACHE_DTYPES.join(", ")
      })`,
      USAGE,
    );
  }
  const positive = (x: number): boolean => x > 0;
  const positiveInt = (x: number): boolean => Number.isInteger(x) && x > 0;
  const num = (flag: string, check: (x: number) => boolean) =>
    numberFlag(
      (values as Record<string, string | undefined>)[flag],
      `--${flag}`,
      { check, usage: USAGE },
    );
  return {
    spec: positionals[0],
    endpoint: values.endpoint,
    tp: num("tp", positiveInt),
    kvCacheDtype,
    mtp: values.mtp ?? false,
    offloadGib: num("offload-size", positive),
    gpuKvGib: num("gpu-kv-gb", positive),
    inputLength: num("input-length", positiveInt) ?? 32000,
    json: values.json ?? false,
  };
}

/** What `kvbench size` computes, as `--json` prints it. */
interface SizeReport {
  model: string;
  from: ModelSource["from"];
  source: string;
  kv: KvSizing;
  offload: {
    sizeGib: number;
    perRankGib: number;
    tokens: number;
    from: "--offload-size" | "model_configs.json" | "server";
  } | null;
  gpu: { perRankGib: number; contexts: number; tokens: number } | null;
  workload: BenchmarkSizing | null;
  workloadError?: string;
  /** What the server says (--endpoint), or null. */
  server: ServerCapacity | null;
  /** Where the server's figures and the computed ones disagree. */
  disagreements: string[];
  /** Contexts by model_configs.json's rule (whole-model bytes per token), what benchmark runs without --tp, --kv-cache-dtype or --hf-config. */
  tableContexts?: number;
}

function report(
  model: ModelSource,
  opts: SizeOptions,
  server?: ServerCapacity,
): SizeReport {
  const entry = model.entry;
  const tp = opts.tp ??
    (entry === undefined ? 1 : Number(entry.tensorParallelSize));
  const kv = sizeKv(model.layout, {
    tp,
    kvCacheDtype: opts.kvCacheDtype,
    mtp: opts.mtp,
  });
  // Without an offload size, the server's offload tokens (per rank) size it.
  const offloadFrom = opts.offloadGib !== undefined
    ? "--offload-size"
    : server?.offloadKvTokens !== undefined && kv.bytesPerTokenPerRank > 0
    ? "server"
    : entry !== undefined
    ? "model_configs.json"
    : undefined;
  const sizeGib = offloadFrom === "--offload-size"
    ? opts.offloadGib
    : offloadFrom === "model_configs.json"
    ? offloadSizeGib(entry!)
    : offloadFrom === "server"
    ? server!.offloadKvTokens! * kv.bytesPerTokenAllRanks / 1024 ** 3
    : undefined;
  const result: SizeReport = {
    model: opts.spec ?? model.source,
    server: server ?? null,
    disagreements: [],
    from: model.from,
    source: model.source,
    kv,
    offload: null,
    gpu: null,
    workload: null,
  };
  if (sizeGib !== undefined && kv.bytesPerTokenPerRank > 0) {
    result.offload = {
      sizeGib,
      perRankGib: sizeGib / tp,
      tokens: Math.floor(sizeGib / tp * 1024 ** 3 / kv.bytesPerTokenPerRank),
      from: offloadFrom!,
    };
    try {
      result.workload = sizeBenchmarkFromLayout(result.model, model.layout, {
        offloadSizeGib: sizeGib,
        tp,
        kvCacheDtype: opts.kvCacheDtype,
        mtp: opts.mtp,
        inputLength: opts.inputLength,
      }).sizing;
    } catch (error) {
      result.workloadError = (error as Error).message;
    }
    if (offloadFrom === "server" && entry !== undefined) {
      const table = Math.floor(
        offloadSizeGib(entry) / tp * 1024 ** 3 / kv.bytesPerTokenPerRank,
      );
      const served = server!.offloadKvTokens!;
      if (Math.abs(table - served) > 0.05 * Math.max(table, served)) {
        result.disagreements.push(
          `[WARN] model_configs.json's ${
            offloadSizeGib(entry)
          } GiB of offload would hold ${
            n(table)
          } tokens per rank, the server has ${
            n(served)
          }: benchmark without --offload-size, --tp, --kv-cache-dtype or --hf-config sizes for the table's`,
        );
      }
    }
    if (entry !== undefined && result.workload !== null) {
      result.tableContexts = sizeBenchmark(entry.model_name, {
        offloadSizeGib: offloadSizeGib(entry),
        bytesPerToken: bytesPerToken(entry),
        inputLength: opts.inputLength,
      }).contexts;
    }
  }
  if (server !== undefined) {
    result.disagreements.push(...compareCapacity(server, {
      kvDtype: kv.kvDtype,
      offloadKvTokens: offloadFrom === "server"
        ? undefined
        : result.offload?.tokens,
      deviceKvTokens:
        opts.gpuKvGib === undefined || kv.gpuBytesPerTokenPerRank === 0
          ? undefined
          : Math.floor(opts.gpuKvGib * 1024 ** 3 / kv.gpuBytesPerTokenPerRank),
    }));
  }
  if (opts.gpuKvGib !== undefined) {
    const perContext = gpuBytesPerRequest(kv, opts.inputLength);
    const contexts = Math.floor(opts.gpuKvGib * 1024 ** 3 / perContext);
    result.gpu = {
      perRankGib: opts.gpuKvGib,
      contexts,
      tokens: contexts * opts.inputLength,
    };
  }
  return result;
}

function groupRows(kv: KvSizing, model: ModelSource): string[][] {
  return kv.groups.map((g, i) => {
    const group = model.layout.groups[i];
    const heads = g.headsPerRank === undefined
      ? "-"
      : group.kind === "mla"
      ? "1 latent"
      : `${g.headsPerRank} of ${"kvHeads" in group ? group.kvHeads : "?"}`;
    const gpu = g.kind === "linear" || g.kind === "mamba"
      ? `${bytes(g.stateBytesPerRequestPerRank)} per request`
      : g.windowTokens !== undefined
      ? `last ${n(g.windowTokens)} tokens`
      : "every token";
    return [
      g.kind,
      String(g.layers),
      heads,
      g.formula,
      g.bytesPerTokenPerRank === 0 ? "-" : n(g.bytesPerTokenPerRank),
      gpu,
    ];
  });
}

const FROM: Record<ModelSource["from"], string> = {
  table: "model_configs.json",
  file: "config.json",
  "hf-cache": "Hugging Face cache:",
  cache: "kvbench's cache:",
  hub: "downloaded to",
  server: "GGUF metadata from the server",
};

function render(r: SizeReport, model: ModelSource, opts: SizeOptions): string {
  const { kv } = r;
  const lines = [
    `Model: ${r.model} (${FROM[r.from]}${
      r.from === "table" || r.source === r.model ? "" : ` ${r.source}`
    })`,
    `TP ${kv.tp}; KV dtype ${kv.kvDtype} (${kv.kvDtypeFrom})${
      kv.mtpLayers > 0 ? `; ${kv.mtpLayers} MTP layer(s) counted` : ""
    }`,
    "",
    renderTable(
      [
        { header: "group" },
        { header: "layers" },
        { header: "KV heads\nper rank" },
        { header: "derivation (per rank)", align: "left" },
        { header: "bytes per\ntoken" },
        { header: "the GPU keeps" },
      ],
      groupRows(kv, model),
      { title: "KV cache per layer group, one rank" },
    ).trimEnd(),
    "",
    `KV bytes per token: ${n(kv.bytesPerTokenPerRank)} per rank; ${
      n(kv.bytesPerTokenAllRanks)
    } over ${kv.tp} rank(s); ${n(kv.modelBytesPerToken)} for the model at TP 1`,
  ];
  const gpuParts = [`${n(kv.gpuBytesPerTokenPerRank)} B per token`];
  if (kv.windowTokens !== undefined) {
    gpuParts.push(
      `${n(kv.windowBytesPerTokenPerRank)} B per token of the last ${
        n(kv.windowTokens)
      } tokens`,
    );
  }
  if (kv.stateBytesPerRequestPerRank > 0) {
    gpuParts.push(
      `${bytes(kv.stateBytesPerRequestPerRank)} of state per request`,
    );
  }
  lines.push(`GPU per rank: ${gpuParts.join(" + ")}`);
  lines.push(
    `One ${n(opts.inputLength)}-token context: ${
      bytes(gpuBytesPerRequest(kv, opts.inputLength))
    } of GPU KV per rank; ${
      bytes(kv.bytesPerTokenPerRank * opts.inputLength)
    } per rank on the offload tier (every block of every layer)`,
  );
  if (r.gpu !== null) {
    lines.push(
      `GPU KV ${r.gpu.perRankGib} GiB per rank holds ${
        n(r.gpu.contexts)
      } contexts of ${n(opts.inputLength)} tokens (${n(r.gpu.tokens)} tokens)`,
    );
  }
  if (r.offload === null) {
    lines.push(
      kv.bytesPerTokenPerRank === 0
        ? "Offload: nothing per token to offload"
        : "Offload: size unknown (give --offload-size GB, over all ranks)",
    );
  } else {
    lines.push(
      `Offload ${+r.offload.sizeGib.toFixed(2)} GiB over ${kv.tp} rank(s) (${+r
        .offload
        .perRankGib.toFixed(3)} GiB per rank) holds ${
        n(r.offload.tokens)
      } tokens`,
    );
  }
  if (r.server !== null) {
    const s = r.server;
    const parts = [
      s.deviceKvTokens === undefined
        ? "GPU KV unknown"
        : `GPU KV ${n(s.deviceKvTokens)} tokens`,
      s.offloadKvTokens === undefined
        ? undefined
        : `offload ${n(s.offloadKvTokens)} tokens`,
      s.cacheDtype === undefined ? undefined : `KV dtype ${s.cacheDtype}`,
      s.slots === undefined ? undefined : `${s.slots} slots`,
    ].filter((x) => x !== undefined);
    lines.push(
      `Server (${s.engine ?? "unknown engine"}, ${s.from}): ${
        parts.join(", ")
      }`,
    );
    if (r.offload?.from === "server") {
      lines.push(
        `The offload size is the server's: ${n(s.offloadKvTokens!)} tokens × ${
          n(kv.bytesPerTokenAllRanks)
        } B over all ranks`,
      );
    }
    lines.push(...r.disagreements);
  }
  lines.push("");
  if (r.workload !== null) {
    const table = r.tableContexts;
    lines.push(
      `kvbench benchmark --tp ${kv.tp} --kv-cache-dtype ${kv.kvDtype} would run:\n${
        renderBenchmarkSpec(r.workload)
      }`,
    );
    if (table !== undefined && table !== r.workload.contexts) {
      lines.push(
        `[WARN] Without --tp, --kv-cache-dtype or --hf-config, benchmark sizes ${table} contexts by model_configs.json's rule (whole-model bytes per token against every rank's buffer): ${
          n(table * opts.inputLength)
        } tokens for a tier that holds ${
          n(r.offload!.tokens)
        } per rank, so reuses would miss.`,
        "",
      );
    }
  } else if (r.workloadError !== undefined) {
    lines.push(`kvbench benchmark cannot size it: ${r.workloadError}`, "");
  }
  return lines.join("\n");
}

/** `kvbench size`. */
export const sizeCommand: Command = {
  name: "size",
  summary:
    "KV bytes per token of a model (config.json, Hub id or table name) per TP rank, and the workload it gives",
  async run(args: string[], signal: AbortSignal): Promise<number> {
    const opts = parse(args);
    if (opts === undefined) {
      out(USAGE);
      return 0;
    }
    const server = opts.endpoint === undefined
      ? undefined
      : await probeServerCapacity(new URL(opts.endpoint).origin, { signal });
    let model: ModelSource;
    if (opts.spec !== undefined) {
      model = await resolveModelLayout(opts.spec, { signal });
    } else if (server?.ggufMetadata !== undefined) {
      model = {
        layout: layoutFromGguf(server.ggufMetadata),
        from: "server",
        source: `${new URL(opts.endpoint!).origin}/props`,
      };
    } else {
      throw new Error(
        `Cannot size the model at ${opts.endpoint}: it reports no GGUF metadata; name the model (MODEL|PATH)`,
      );
    }
    const r = report(model, opts, server);
    out(opts.json ? JSON.stringify(r, null, 2) + "\n" : render(r, model, opts));
    return 0;
  },
};
