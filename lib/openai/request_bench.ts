/**
 * Micro-benchmarks of the request pipeline without a network: an in-memory
 * transport replays a 1000-event SSE response, so what is timed is SSE
 * parsing, JSON decoding, timestamps and record building, then the metrics
 * and records-line work done per record.
 *
 * @module
 */
import { fileRecord } from "../run/records_file.ts";
import { sendRequest } from "./request.ts";
import { BenchmarkMetrics } from "../../workloads/benchmark/metrics.ts";
import { replayTransport } from "../testing/replay_transport.ts";

const TOKENS = 1000;
const encoder = new TextEncoder();
const event = (text: string, finish: string | null): string =>
  `data: {"id":"cmpl-1","object":"text_completion","created":0,"model":"m","choices":[{"index":0,"text":${
    JSON.stringify(text)
  },"logprobs":null,"finish_reason":${
    finish === null ? "null" : JSON.stringify(finish)
  }}],"usage":null}\n\n`;
const events: Uint8Array[] = [];
for (let i = 0; i < TOKENS; i++) {
  events.push(
    encoder.encode(event(" tok", i === TOKENS - 1 ? "length" : null)),
  );
}
events.push(
  encoder.encode(
    `data: {"choices":[],"usage":{"prompt_tokens":100,"completion_tokens":${TOKENS}}}\n\ndata: [DONE]\n\n`,
  ),
);
// The same bytes as 64 KiB reads would deliver them.
const joined = encoder.encode(
  events.map((e) => new TextDecoder().decode(e)).join(""),
);
const reads: Uint8Array[] = [];
for (let i = 0; i < joined.length; i += 65536) {
  reads.push(joined.subarray(i, i + 65536));
}

const perEvent = {
  baseUrl: "http://bench.invalid/v1/",
  model: "m",
  transport: replayTransport(events),
};
const perRead = {
  baseUrl: "http://bench.invalid/v1/",
  model: "m",
  transport: replayTransport(reads),
};
const spec = { prompt: "hi", maxTokens: TOKENS };

Deno.bench(
  "sendRequest: 1000 events, one chunk each",
  { group: "request" },
  async () => {
    const record = await sendRequest(perEvent, spec);
    if (!record.ok || record.chunks !== TOKENS) throw new Error("bad record");
  },
);

Deno.bench(
  "sendRequest: 1000 events in 64 KiB reads",
  { group: "request" },
  async () => {
    const record = await sendRequest(perRead, spec);
    if (!record.ok || record.chunks !== TOKENS) throw new Error("bad record");
  },
);

const record = await sendRequest(perRead, spec);
const metrics = new BenchmarkMetrics();

Deno.bench("BenchmarkMetrics.add", { group: "record" }, () => {
  metrics.add(record);
});

Deno.bench("records line (fileRecord + JSON)", { group: "record" }, () => {
  encoder.encode(JSON.stringify(fileRecord(record)) + "\n");
});
