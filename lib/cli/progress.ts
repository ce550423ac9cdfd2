/**
 * The live status of a run, for {@linkcode LiveLine}: elapsed time, requests
 * done and failed, in flight, and the median TTFT of the latest requests.
 *
 * @module
 */
import { requestFigures } from "../metrics/figures.ts";
import type { RequestRecord } from "../types.ts";

/** The latest TTFTs kept for the live median. */
const RECENT = 256;

/** Counts a run's requests as they go out and come back. */
export class RunProgress {
  #sent = 0;
  #done = 0;
  #failed = 0;
  #aborted = 0;
  #recent = new Float64Array(RECENT);
  #recentN = 0;

  /** A request went out. */
  sent(): void {
    this.#sent++;
  }

  /** A request came back. */
  add(record: RequestRecord): void {
    // Every record the runner hands over was sent (it keeps the ones it
    // never sent to itself).
    this.#done++;
    if (record.error?.kind === "aborted") {
      this.#aborted++;
      return;
    }
    if (!record.ok) {
      this.#failed++;
      return;
    }
    const ttft = requestFigures(record).ttftMs;
    if (ttft !== undefined) this.#recent[this.#recentN++ % RECENT] = ttft;
  }

  /** The status line at `elapsedS`, of `durationS` when the run has one. */
  line(elapsedS: number, durationS?: number): string {
    const n = Math.min(this.#recentN, RECENT);
    const sorted = this.#recent.slice(0, n).sort();
    const p50 = n === 0
      ? "-"
      : `${
        (n % 2 ? sorted[(n - 1) / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2)
          .toFixed(0)
      } ms`;
    const time = durationS === undefined
      ? `${elapsedS.toFixed(0)} s`
      : `${elapsedS.toFixed(0)}/${durationS.toFixed(0)} s`;
    return `${time}  requests ${
      this.#done - this.#failed - this.#aborted
    } done, ${this.#failed} failed, ${
      Math.max(0, this.#sent - this.#done)
    } in flight  TTFT p50 ${p50} (last ${n})`;
  }
}
