/**
 * A virtual clock for the simulator's engine: time moves only when a test
 * says so, and timers fire in time order at exactly their due time, so the
 * timing model can be checked to the microsecond on any machine.
 *
 * @module
 */
import type { EngineClock } from "../sim/engine.ts";

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/**
 * A clock whose `now()` moves only through {@linkcode VirtualClock.advance}
 * and {@linkcode VirtualClock.runAll}.
 *
 * @example Timers fire at their due time, in order
 * ```ts
 * import { VirtualClock } from "./virtual_clock.ts";
 * import assert from "node:assert/strict";
 *
 * const clock = new VirtualClock();
 * const fired: number[] = [];
 * clock.setTimer(() => fired.push(clock.now()), 30);
 * clock.setTimer(() => fired.push(clock.now()), 10);
 * await clock.runAll();
 * assert.deepEqual(fired, [10, 30]);
 * ```
 */
export class VirtualClock implements EngineClock {
  #now = 0;
  #nextId = 1;
  #timers: Timer[] = [];

  /** The current time, ms. */
  now(): number {
    return this.#now;
  }

  /** Schedule `fn` at now + `ms`. */
  setTimer(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#timers.push({ id, at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  /** Cancel a timer. */
  clearTimer(id: number): void {
    this.#timers = this.#timers.filter((t) => t.id !== id);
  }

  /** Timers not fired yet. */
  get pending(): number {
    return this.#timers.length;
  }

  /**
   * Move time forward by `ms` without firing timers that fall due meanwhile
   * (as when the event loop is busy); {@linkcode VirtualClock.runAll} fires
   * them later, at the then current time.
   */
  skip(ms: number): void {
    this.#now += ms;
  }

  /**
   * Fire the timers due within the next `ms`, each at its due time, letting
   * the microtasks they queue run before the next; then set the time to
   * now + `ms`.
   */
  async advance(ms: number): Promise<void> {
    await this.#runUntil(this.#now + ms);
  }

  /** Fire every timer, new ones included, until none is left. */
  async runAll(): Promise<void> {
    await this.#runUntil(Infinity);
  }

  async #runUntil(end: number): Promise<void> {
    while (true) {
      await Promise.resolve();
      let next: Timer | undefined;
      for (const t of this.#timers) {
        if (next === undefined || t.at < next.at) next = t;
      }
      if (next === undefined || next.at > end) break;
      this.#timers = this.#timers.filter((t) => t !== next);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
    }
    if (end !== Infinity) this.#now = Math.max(this.#now, end);
    await Promise.resolve();
  }
}
