/**
 * A transport that answers every request with the same recorded SSE bytes,
 * chunk by chunk, without a network: for benchmarks and tests of what
 * happens above the transport.
 *
 * @module
 */
import type { Transport } from "../transport/transport.ts";

/** Replay `chunks` as a 200 `text/event-stream` response to every request. */
export function replayTransport(chunks: readonly Uint8Array[]): Transport {
  return {
    name: "replay",
    send(_request, sink): Promise<void> {
      sink.head(200, new Headers({ "content-type": "text/event-stream" }));
      for (const chunk of chunks) sink.data(chunk, performance.now());
      return Promise.resolve();
    },
    close() {},
  };
}
