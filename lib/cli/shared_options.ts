/**
 * The options every workload command shares, declared once: the endpoint,
 * the model's KV size (`--hf-config`, `--tp`, `--kv-cache-dtype`), request
 * shaping, timeouts, transport, percentiles and goodput, the server's
 * metrics, the outputs, workers and shards, the reuse check (`--verify`,
 * `--cold-method`, `--reset-cache`). A workload takes them
 * into its schema, and overrides what it says differently (trie keeps its
 * defaults: `{ ...SHARED_OPTIONS.maxRetries, default: 2 }`).
 *
 * @module
 */
import {
  NON_NEGATIVE_INT,
  type OptionSchema,
  POSITIVE,
  POSITIVE_INT,
} from "./options.ts";
import { KV_CACHE_DTYPES } from "../models/kv_size.ts";

/**
 * The shared options, by the name of their parsed value.
 *
 * @example Usage
 * ```ts
 * import { SHARED_OPTIONS } from "./shared_options.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(SHARED_OPTIONS.maxRetries.flag, "max-retries");
 * assert.equal(SHARED_OPTIONS.maxRetries.key, "max_retries");
 * ```
 */
export const SHARED_OPTIONS = {
  endpoint: {
    flag: "endpoint",
    key: "endpoint",
    type: "string",
    arg: "URL",
    required: true,
    help: "OpenAI-compatible server (http://host:8000, …/v1, host:8000)",
  },
  apiKey: {
    flag: "api-key",
    key: "api_key",
    type: "string",
    arg: "KEY",
    help: "bearer key (default: $OPENAI_API_KEY; none is fine)",
  },
  model: {
    flag: "model",
    key: "model",
    type: "string",
    arg: "NAME",
    inherit: false,
    help: "model to send (default: the first id of GET /v1/models)",
  },
  hfConfig: {
    flag: "hf-config",
    key: "hf_config",
    type: "string",
    arg: "PATH|ID",
    help:
      "size from this config.json (a file, a folder holding one, or a Hugging Face id)",
  },
  tp: {
    flag: "tp",
    key: "tp",
    type: "int",
    arg: "N",
    check: POSITIVE_INT,
    help:
      "tensor-parallel ranks: the KV each rank stores (default: the table's)",
  },
  kvCacheDtype: {
    flag: "kv-cache-dtype",
    key: "kv_cache_dtype",
    type: "string",
    arg: "D",
    choices: KV_CACHE_DTYPES,
    help:
      "the server's KV dtype: auto, bf16, fp16, fp8, fp8_e4m3, fp8_e5m2, fp8_ds_mla, nvfp4",
  },
  seed: {
    flag: "seed",
    key: "seed",
    type: "int",
    arg: "N",
    inherit: false,
    help: "seed of the draw (default: random; run.json records it)",
  },
  duration: {
    param: "duration_s",
    flag: "duration",
    key: "duration",
    type: "duration",
    arg: "S",
    check: POSITIVE,
    help: "stop after this long (default: run until interrupted)",
  },
  api: {
    param: "api",
    flag: "api",
    key: "api",
    type: "string",
    arg: "API",
    default: "completions",
    help: "completions or chat (the chat template adds prompt tokens)",
  },
  ignoreEos: {
    param: "ignore_eos",
    flag: "ignore-eos",
    key: "ignore_eos",
    type: "bool",
    default: false,
    help: "send ignore_eos so every answer is exactly its max_tokens",
  },
  extraBody: {
    param: "extra_body",
    flag: "extra-body",
    key: "extra_body",
    type: "string",
    arg: "JSON",
    help:
      'fields merged into every request body, e.g. {"temperature":0} (stream_options is merged: usage is always asked for)',
  },
  maxRetries: {
    param: "max_retries",
    flag: "max-retries",
    key: "max_retries",
    type: "int",
    arg: "N",
    check: NON_NEGATIVE_INT,
    default: 0,
    help: "retry a failed request N times",
  },
  timeout: {
    param: "timeout_s",
    flag: "timeout",
    key: "timeout",
    type: "duration",
    arg: "S",
    check: POSITIVE,
    default: 600,
    help: "total timeout of one request",
  },
  connectTimeout: {
    flag: "connect-timeout",
    key: "connect_timeout",
    type: "duration",
    arg: "S",
    check: POSITIVE,
    help: "time to open a connection (default 10; not applied by fetch)",
  },
  firstTokenTimeout: {
    flag: "first-token-timeout",
    key: "first_token_timeout",
    type: "duration",
    arg: "S",
    check: POSITIVE,
    help: "time from the send to the first generated token (default: none)",
  },
  idleTimeout: {
    flag: "idle-timeout",
    key: "idle_timeout",
    type: "duration",
    arg: "S",
    check: POSITIVE,
    help: "time without any byte of a response (default: none)",
  },
  transport: {
    flag: "transport",
    key: "transport",
    type: "string",
    arg: "NAME",
    default: "auto",
    help: "auto (http1 unless a proxy applies), http1 or fetch",
  },
  percentiles: {
    param: "percentiles",
    flag: "percentiles",
    key: "percentiles",
    type: "string",
    arg: "LIST",
    help: "percentiles of the distributions (default 50,90,99)",
  },
  goodput: {
    param: "slos",
    flag: "goodput",
    key: "goodput",
    type: "string",
    arg: "SLOS",
    help:
      "count requests meeting SLOs in ms, e.g. ttft:500,tpot:50 (keys ttft, tpot, e2el)",
  },
  metrics: {
    flag: "metrics",
    key: "metrics",
    type: "bool",
    default: true,
    inherit: false,
    help: "scrape the server's Prometheus /metrics for the KV source split",
  },
  metricsUrls: {
    flag: "metrics-url",
    key: "metrics_url",
    type: "strings",
    arg: "URL",
    inherit: false,
    help:
      "the server's /metrics URLs (repeatable or comma-separated; default: the endpoint's origin + /metrics)",
  },
  metricsOut: {
    flag: "metrics-out",
    key: "metrics_out",
    type: "string",
    arg: "FILE",
    inherit: false,
    help:
      "write every scrape as a JSON line here (default: beside the records file)",
  },
  scrapeInterval: {
    param: "scrape_interval_s",
    flag: "scrape-interval",
    key: "scrape_interval",
    type: "duration",
    arg: "S",
    check: POSITIVE,
    default: 2,
    inherit: false,
    help:
      "scrape /metrics this often between reports, for the report's tier-over-time plot (at most the report interval; one GET per /metrics URL)",
  },
  outputDir: {
    flag: "output-dir",
    key: "output_dir",
    type: "string",
    arg: "DIR",
    inherit: false,
    help:
      "write the run's files here (default: kvbench-runs/<time>-NAME, or under $KVBENCH_RUNS_DIR)",
  },
  artifacts: {
    flag: "artifacts",
    key: "artifacts",
    type: "bool",
    default: true,
    inherit: false,
    help: "write a run directory (run.json, records, metrics, summary, report)",
  },
  records: {
    flag: "records",
    key: "records",
    type: "string",
    arg: "FILE",
    inherit: false,
    help: "also append every finished request to FILE as JSON lines",
  },
  output: {
    flag: "output",
    key: "output_json",
    type: "string",
    arg: "FILE",
    inherit: false,
    help: "also write the JSON summary of the run to FILE",
  },
  workers: {
    flag: "workers",
    key: "workers",
    type: "string",
    arg: "N",
    display: "int | auto",
    inherit: false,
    help:
      "split the run over N worker processes on this host (auto: one per core, at most one per unit of load in flight); one run directory, one report from all records",
  },
  shard: {
    flag: "shard",
    key: "shard",
    type: "string",
    arg: "K/N",
    inherit: false,
    help:
      "run part K (from 0) of N of this workload (every N-th from K); merge the parts with kvbench merge",
  },
  shards: {
    flag: "shards",
    key: "shards",
    type: "int",
    arg: "N",
    check: POSITIVE_INT,
    inherit: false,
    help:
      "the same, K read from $JOB_COMPLETION_INDEX (a Kubernetes Indexed Job: see kvbench k8s)",
  },
  startAt: {
    flag: "start-at",
    key: "start_at",
    type: "string",
    arg: "TIME",
    inherit: false,
    help:
      "start at this wall-clock time (ISO 8601 or Unix seconds), so shards start together",
  },
  verify: {
    param: "verify",
    flag: "verify",
    key: "verify",
    type: "int",
    arg: "N",
    check: POSITIVE_INT,
    inherit: false,
    help:
      "after the run, check N prompts the run reused against cold compute: a greedy request served from the cache, a cold reference and a cold-vs-cold control, compared token by token; exit 1 on a divergence beyond the control; the pairs go to verify.jsonl in the run directory",
  },
  coldMethod: {
    param: "cold_method",
    flag: "cold-method",
    key: "cold_method",
    type: "string",
    arg: "M",
    inherit: false,
    help:
      "how --verify makes cold references: salt (cache_salt, vLLM), flush (POST /flush_cache on SGLang, /reset_prefix_cache on vLLM with VLLM_SERVER_DEV_MODE=1) or nocache (cache_prompt: false, llama.cpp) (default: from the detected engine)",
  },
  resetCache: {
    param: "reset_cache",
    flag: "reset-cache",
    key: "reset_cache",
    type: "bool",
    default: false,
    inherit: false,
    help:
      "drop the server's prefix cache before the run and between sweep levels (SGLang /flush_cache, vLLM /reset_prefix_cache)",
  },
  worker: {
    flag: "worker",
    key: "worker",
    type: "bool",
    default: false,
    hidden: true,
    inherit: false,
    help: "internal: this process is one of the workers",
  },
} as const satisfies OptionSchema;
