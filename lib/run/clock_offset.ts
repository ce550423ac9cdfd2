/**
 * How far this host's wall clock is from a reference clock, so the records
 * of shards on several hosts can be put on one timeline. The reference is
 * the server's HTTP `Date` header: every shard talks to the same server, so
 * every shard measures against the same clock.
 *
 * `Date` has whole seconds, so a single response says little; the moment the
 * header's second changes says much. The probe first finds that edge
 * roughly (requests 50 ms apart), then waits for the next one and brackets
 * it with back-to-back requests: the edge lies between the send of the last
 * request with the old second and the reply to the first with the new one.
 * The estimate is the middle of that bracket and its uncertainty half its
 * width (on a LAN, about one round trip; probes go at most one a
 * millisecond, so never much under 1 ms).
 *
 * What it measures is the server's `Date` edge, not its clock: a server
 * that refreshes its `Date` on a timer (uvicorn, under vLLM and SGLang:
 * once a second; Deno: once a second too) adds a fixed lag of up to a
 * second. The lag is the same for every shard that measures the same server
 * process, so it cancels when their records are merged; shards behind a
 * load balancer that reach different replicas do not share it, and are
 * aligned only as well as the replicas' timers agree (up to a second).
 *
 * @module
 */

/** An estimate of this host's clock offset. */
export interface ClockOffset {
  /**
   * How it was found: `server-date` (the edges of the server's `Date`
   * header), `same-host` (workers of one process tree: one clock), or
   * `host-clock` (nothing to measure against: the host's clock is taken as
   * it is, which holds as well as the hosts' NTP does).
   */
  method: "server-date" | "same-host" | "host-clock";
  /** This host's wall clock minus the reference's, in ms. */
  offsetMs: number;
  /** Half the width of the interval the offset lies in, in ms; null when unknown. */
  uncertaintyMs: number | null;
  /** What was measured against (a URL), when anything was. */
  reference?: string;
  /** Requests the probe sent. */
  probes?: number;
  /** Why the method is `host-clock`, when it is. */
  note?: string;
}

/** Options of {@linkcode estimateClockOffset}. */
export interface EstimateClockOffsetOptions {
  /** Request headers (an API key). */
  headers?: Record<string, string>;
  /** Give up after this many requests (default 200). */
  maxProbes?: number;
  /** Stop probing. */
  signal?: AbortSignal;
  /** This host's wall clock in ms (default `performance.timeOrigin + performance.now()`). */
  now?: () => number;
}

interface Probe {
  sent: number;
  second: number;
  received: number;
}

/**
 * Estimate this host's clock offset against the `Date` header of `url` (a
 * cheap GET such as the server's `/v1/models`). Takes one to two seconds.
 * Never throws for what the server does: a server without a usable `Date`
 * header, or one that cannot be reached, gives the `host-clock` method with
 * a note.
 *
 * @example Against a server whose clock runs 2.5 s ahead
 * ```ts
 * import { estimateClockOffset } from "./clock_offset.ts";
 * import assert from "node:assert/strict";
 *
 * const now = () => performance.timeOrigin + performance.now();
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () =>
 *   new Response("{}", { headers: { date: new Date(now() + 2500).toUTCString() } }));
 * const offset = await estimateClockOffset(`http://127.0.0.1:${server.addr.port}/`);
 * assert.equal(offset.method, "server-date");
 * // This host is 2.5 s behind: −2500 ms, within the stated uncertainty.
 * assert.ok(Math.abs(offset.offsetMs + 2500) <= offset.uncertaintyMs! + 1);
 * await server.shutdown();
 * ```
 */
export async function estimateClockOffset(
  url: string,
  options: EstimateClockOffsetOptions = {},
): Promise<ClockOffset> {
  const now = options.now ?? (() => performance.timeOrigin + performance.now());
  const maxProbes = options.maxProbes ?? 200;
  let probes = 0;
  const hostClock = (note: string): ClockOffset => ({
    method: "host-clock",
    offsetMs: 0,
    uncertaintyMs: null,
    reference: url,
    probes,
    note,
  });
  const probe = async (): Promise<Probe | string> => {
    probes++;
    const sent = now();
    let response: Response;
    try {
      response = await fetch(url, {
        headers: options.headers,
        signal: options.signal,
      });
    } catch (error) {
      return `the server could not be reached (${(error as Error).message})`;
    }
    const received = now();
    await response.body?.cancel();
    const date = response.headers.get("date");
    const second = date === null ? NaN : Date.parse(date);
    if (!Number.isFinite(second)) {
      return date === null
        ? "the server sends no Date header"
        : `the server's Date header "${date}" is not a date`;
    }
    return { sent, second, received };
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
  // Rough: an edge within one 50 ms step.
  let previous = await probe();
  if (typeof previous === "string") return hostClock(previous);
  let rough: { before: Probe; after: Probe } | undefined;
  while (rough === undefined) {
    if (probes >= maxProbes || options.signal?.aborted) {
      return hostClock("the server's Date header did not change");
    }
    await sleep(50);
    const next = await probe();
    if (typeof next === "string") return hostClock(next);
    if (next.second > previous.second) {
      rough = { before: previous, after: next };
    }
    previous = next;
  }
  // Fine: the next edge, one second later, bracketed back to back.
  const roughEdge = (rough.before.sent + rough.after.received) / 2;
  const roughWidth = rough.after.received - rough.before.sent;
  await sleep(roughEdge + 1000 - roughWidth / 2 - 10 - now());
  let before = await probe();
  if (typeof before === "string") return hostClock(before);
  const target = rough.after.second + 1000;
  while (probes < maxProbes && !options.signal?.aborted) {
    // At most one probe a millisecond: on loopback a probe takes 0.1 ms.
    await sleep(before.received + 1 - now());
    const after = await probe();
    if (typeof after === "string") return hostClock(after);
    if (after.second >= target && before.second < target) {
      return {
        method: "server-date",
        offsetMs: (before.sent + after.received) / 2 - target,
        uncertaintyMs: (after.received - before.sent) / 2,
        reference: url,
        probes,
      };
    }
    if (after.second >= target) {
      // Slept past the edge: fall back to the rough bracket.
      return {
        method: "server-date",
        offsetMs: roughEdge - rough.after.second,
        uncertaintyMs: roughWidth / 2,
        reference: url,
        probes,
      };
    }
    before = after;
  }
  return {
    method: "server-date",
    offsetMs: roughEdge - rough.after.second,
    uncertaintyMs: roughWidth / 2,
    reference: url,
    probes,
  };
}
