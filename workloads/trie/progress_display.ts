/**
 * The live display of `kvbench trie`: trie's progress table redrawn in
 * place on a terminal, a plain progress line every interval otherwise.
 *
 * @module
 */
import { out } from "../../lib/cli/common.ts";
import type { TrieResult } from "./metrics.ts";
import { progressLine, renderProgress } from "./report.ts";

/** The display of one level, from {@linkcode progressDisplay}. */
export interface ProgressDisplay {
  /** Show this result (redrawn at most 4 times a second). */
  update(result: TrieResult): void;
  /** Stop, and remove the live region. */
  clear(): void;
}

/** A status display: redrawn in place on a terminal, a plain line every interval otherwise. */
export function progressDisplay(
  options: { durationS: number; intervalS: number | null; startedAt: number },
): ProgressDisplay {
  const { durationS, intervalS, startedAt } = options;
  const tty = Deno.stdout.isTerminal();
  let drawn = 0;
  let last = 0;
  let timer: ReturnType<typeof setInterval> | undefined;
  let current: TrieResult | undefined;
  const elapsed = () => Math.max(0, performance.now() - startedAt) / 1000;
  const draw = () => {
    if (!current) return;
    const lines = renderProgress(current, { elapsedS: elapsed(), durationS });
    out(
      (drawn ? `\x1b[${drawn}F` : "") +
        lines.map((l) => `\x1b[2K${l}`).join("\n") + "\n",
    );
    drawn = lines.length;
  };
  if (tty) timer = setInterval(draw, 1000);
  else if (intervalS !== null) {
    timer = setInterval(
      () =>
        current &&
        out(progressLine(current, { elapsedS: elapsed(), durationS }) + "\n"),
      intervalS * 1000,
    );
  }
  return {
    update(result: TrieResult) {
      current = result;
      // Redraw on progress too, at most 4 times a second.
      if (tty && performance.now() - last > 250) {
        last = performance.now();
        draw();
      }
    },
    clear() {
      clearInterval(timer);
      // The live region disappears at the end, as rich's transient Live.
      if (tty && drawn) out(`\x1b[${drawn}F\x1b[0J`);
    },
  };
}
