/**
 * The simulator's scheduler: a discrete-event model of one inference engine
 * with continuous batching, driven by real timers.
 *
 * A request waits (first come, first served) until the running-sequence cap
 * and the GPU tier allow it: its prompt blocks are pinned and slots are
 * reserved for its partial block and every token it will generate. It then
 * looks up its prefix in the cache, prefills (one request at a time), emits
 * its first token, and decodes one token every
 * {@linkcode interTokenMs}(sequences decoding). When it finishes, its blocks,
 * including those of the generated tokens, stay cached for reuse.
 *
 * Model time is in milliseconds; wall time = model time × `timeScale`. Events
 * are processed in model-time order even when a timer fires late, so a
 * coarse timer only batches token writes, it does not change the model.
 *
 * @module
 */
import { MinHeap } from "./min_heap.ts";
import { blockHashes, PrefixCache } from "./prefix_cache.ts";
import { interTokenMs, prefillMs, type TimingModel } from "./timing.ts";

/**
 * The engine's time source: real time by default; tests inject a virtual
 * clock to check the timing model exactly, whatever the machine's load.
 */
export interface EngineClock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Call `fn` once `ms` milliseconds of this clock have passed. */
  setTimer(fn: () => void, ms: number): number;
  /** Cancel a timer of {@linkcode EngineClock.setTimer}. */
  clearTimer(id: number): void;
}

/** Real time: `performance.now()` and the runtime's timers. */
export const REAL_CLOCK: EngineClock = {
  now: () => performance.now(),
  setTimer: (fn, ms) => Number(setTimeout(fn, ms)),
  clearTimer: (id) => clearTimeout(id),
};

/** Everything the engine needs, fully resolved. */
export interface EngineConfig {
  /** Tokens per KV block. */
  blockSize: number;
  /** GPU KV capacity in tokens (rounded down to whole blocks). */
  gpuKvTokens: number;
  /** Offload capacity in tokens (rounded down to whole blocks); 0 disables it. */
  offloadTokens: number;
  /** Rates of the timing model. */
  timing: TimingModel;
  /** Cap on sequences admitted at once (vLLM's `max_num_seqs`). */
  maxRunningSeqs: number;
  /** Wall time per model time: 0.01 runs 100× faster than real time. */
  timeScale: number;
  /** Where wall time comes from (default {@linkcode REAL_CLOCK}). */
  clock?: EngineClock;
}

/** One request as the engine sees it. */
export interface SeqSpec {
  /** Prompt token ids (at least one). */
  promptIds: ArrayLike<number>;
  /** Ids of the tokens to generate (at least one); they join the cache when done. */
  outputIds: ArrayLike<number>;
  /** Extra model time before the first token (a stall fault), ms. */
  stallMs?: number;
  /** Extra model time added before the first token and to every gap, ms. */
  jitterMs?: () => number;
  /** Cache namespace (a salt hashed before the first block; see `greedy.ts`); default shared. */
  cacheSalt?: number;
}

/** Where the engine reports a sequence's progress (never from inside `submit()` or `cancel()`). */
export interface SeqSink {
  /** `emitted` tokens are out (called at most once per timer wake); `done` once all are. */
  progress(emitted: number, done: boolean): void;
  /** The engine was closed before the sequence finished. */
  aborted(): void;
}

/** A submitted sequence. */
export interface SeqHandle {
  /** Prompt tokens found in the GPU tier (known once admitted). */
  readonly gpuHitTokens: number;
  /** Prompt tokens loaded from the offload tier (known once admitted). */
  readonly offloadHitTokens: number;
  /** Stop the sequence and free what it holds; the sink hears nothing more. */
  cancel(): void;
}

/** Counters and gauges of the engine, in tokens unless stated. */
export interface EngineStats {
  /** Sequences admitted and not finished (prefilling or decoding). */
  running: number;
  /** Sequences waiting for admission. */
  waiting: number;
  /** Sequences that generated all their tokens. */
  finished: number;
  /** Sequences cancelled before finishing. */
  cancelled: number;
  /** Prompt tokens of admitted sequences (= prefix-cache queries). */
  promptTokens: number;
  /** Tokens generated. */
  generationTokens: number;
  /** Prompt tokens found in the GPU tier. */
  gpuHitTokens: number;
  /** Prompt tokens looked up in the offload tier (those not found in GPU). */
  offloadQueryTokens: number;
  /** Prompt tokens found in the offload tier. */
  offloadHitTokens: number;
  /**
   * Part of `offloadHitTokens` the simulator places on its disk tier: each
   * offloaded block lives in host memory or on disk by its hash's parity
   * (ground truth for engines that name tiers); the rest is host memory.
   */
  diskHitTokens: number;
  /**
   * The same counts at the sequences' first token (prefill done), as vLLM
   * counts prompt tokens (`IterationStats.update_from_output`), where the
   * ones above move at admission (scheduling).
   */
  atFirstToken: {
    promptTokens: number;
    gpuHitTokens: number;
    offloadHitTokens: number;
    diskHitTokens: number;
  };
  /** GPU KV capacity. */
  gpuKvTokens: number;
  /** GPU KV held by running sequences. */
  gpuKvPinnedTokens: number;
  /** GPU KV holding data (running sequences and reusable cache). */
  gpuKvUsedTokens: number;
  /** Offload capacity. */
  offloadTokens: number;
  /** Offload tier in use. */
  offloadUsedTokens: number;
}

type Phase = "waiting" | "prefill" | "decode" | "done";

class Seq implements SeqHandle {
  phase: Phase = "waiting";
  emitted = 0;
  nextAt = 0;
  touched = false;
  /** Cancelled by its owner: its sink hears nothing more. */
  silenced = false;
  gpuHitTokens = 0;
  offloadHitTokens = 0;
  diskHitTokens = 0;
  constructor(
    readonly spec: SeqSpec,
    readonly sink: SeqSink,
    readonly hashes: number[],
    readonly privateBlocks: number,
    readonly onCancel: (seq: Seq) => void,
  ) {}
  cancel(): void {
    this.onCancel(this);
  }
}

/**
 * The scheduler. Create one per simulated server and {@linkcode close} it.
 *
 * @example Usage
 * ```ts
 * import { Engine } from "./engine.ts";
 * import assert from "node:assert/strict";
 *
 * const engine = new Engine({
 *   blockSize: 16, gpuKvTokens: 4096, offloadTokens: 0, maxRunningSeqs: 8, timeScale: 0.01,
 *   timing: { prefillTokensPerS: 10_000, loadTokensPerS: 100_000, itlBaseMs: 10, itlPerSeqMs: 1 },
 * });
 * const emitted = await new Promise<number>((resolve, reject) => {
 *   engine.submit({ promptIds: [1, 2, 3], outputIds: [7, 8] }, {
 *     progress: (emitted, done) => done && resolve(emitted),
 *     aborted: () => reject(new Error("aborted")),
 *   });
 * });
 * assert.equal(emitted, 2);
 * const stats = engine.stats();
 * assert.equal(stats.finished, 1);
 * assert.equal(stats.promptTokens, 3);
 * assert.equal(stats.generationTokens, 2);
 * engine.close();
 * ```
 */
export class Engine {
  readonly #config: EngineConfig;
  readonly #cache: PrefixCache;
  readonly #heap = new MinHeap<Seq>((s) => s.nextAt);
  readonly #active = new Set<Seq>();
  #waiting: Seq[] = [];
  #waitHead = 0;
  #touched: Seq[] = [];
  readonly #time: EngineClock;
  #origin: number;
  #clock = 0;
  #prefillFreeAt = 0;
  #decoding = 0;
  #timer: number | undefined;
  #timerAt = Infinity;
  #closed = false;
  #flushQueued = false;
  #stats = {
    running: 0,
    waiting: 0,
    finished: 0,
    cancelled: 0,
    promptTokens: 0,
    generationTokens: 0,
    gpuHitTokens: 0,
    offloadQueryTokens: 0,
    offloadHitTokens: 0,
    diskHitTokens: 0,
  };
  #atFirstToken = {
    promptTokens: 0,
    gpuHitTokens: 0,
    offloadHitTokens: 0,
    diskHitTokens: 0,
  };

  /** Make an idle engine; throws a RangeError on an impossible configuration. */
  constructor(config: EngineConfig) {
    const {
      blockSize,
      gpuKvTokens,
      offloadTokens,
      maxRunningSeqs,
      timeScale,
      timing,
    } = config;
    const checks: [string, number, boolean][] = [
      ["blockSize", blockSize, Number.isInteger(blockSize) && blockSize >= 1],
      ["gpuKvTokens", gpuKvTokens, gpuKvTokens >= blockSize],
      ["offloadTokens", offloadTokens, offloadTokens >= 0],
      [
        "maxRunningSeqs",
        maxRunningSeqs,
        Number.isInteger(maxRunningSeqs) && maxRunningSeqs >= 1,
      ],
      ["timeScale", timeScale, timeScale > 0],
      [
        "prefillTokensPerS",
        timing.prefillTokensPerS,
        timing.prefillTokensPerS > 0,
      ],
      ["loadTokensPerS", timing.loadTokensPerS, timing.loadTokensPerS > 0],
      ["itlBaseMs", timing.itlBaseMs, timing.itlBaseMs >= 0],
      ["itlPerSeqMs", timing.itlPerSeqMs, timing.itlPerSeqMs >= 0],
    ];
    for (const [name, value, ok] of checks) {
      if (!ok || !Number.isFinite(value)) {
        throw new RangeError(
          `Cannot start the simulated engine: ${name} ${value} is out of range`,
        );
      }
    }
    this.#config = config;
    this.#time = config.clock ?? REAL_CLOCK;
    this.#origin = this.#time.now();
    this.#cache = new PrefixCache({
      gpuBlocks: Math.floor(gpuKvTokens / blockSize),
      offloadBlocks: Math.floor(offloadTokens / blockSize),
    });
  }

  /**
   * Queue a sequence. Throws a RangeError when it can never fit in the GPU
   * tier, or when prompt or output is empty.
   */
  submit(spec: SeqSpec, sink: SeqSink): SeqHandle {
    if (this.#closed) {
      throw new Error("Cannot submit to the simulated engine: it is closed");
    }
    const { blockSize } = this.#config;
    const promptLen = spec.promptIds.length, outputLen = spec.outputIds.length;
    if (promptLen < 1 || outputLen < 1) {
      throw new RangeError(
        "Cannot submit a sequence: prompt and output need at least one token each",
      );
    }
    const blocks = Math.ceil((promptLen + outputLen) / blockSize);
    if (blocks > this.#cache.gpuCapacity) {
      throw new RangeError(
        `Cannot serve ${promptLen} prompt + ${outputLen} output tokens: the GPU KV cache holds ${
          this.#cache.gpuCapacity * blockSize
        } tokens`,
      );
    }
    const hashes = blockHashes(spec.promptIds, blockSize, {
      prev: spec.cacheSalt,
    });
    const seq = new Seq(
      spec,
      sink,
      hashes,
      blocks - hashes.length,
      (s) => this.#cancel(s),
    );
    this.#advance(this.#now());
    this.#active.add(seq);
    this.#waiting.push(seq);
    this.#stats.waiting++;
    this.#admit();
    this.#flushSoon();
    this.#schedule();
    return seq;
  }

  /** Counters and gauges now. */
  stats(): EngineStats {
    const bs = this.#config.blockSize, cache = this.#cache;
    return {
      ...this.#stats,
      atFirstToken: { ...this.#atFirstToken },
      gpuKvTokens: cache.gpuCapacity * bs,
      gpuKvPinnedTokens: cache.gpuPinned * bs,
      gpuKvUsedTokens: cache.gpuUsed * bs,
      offloadTokens: cache.offloadCapacity * bs,
      offloadUsedTokens: cache.offloadUsed * bs,
    };
  }

  /**
   * Drop every cached block of both tiers (SGLang's `/flush_cache`, vLLM's
   * `/reset_prefix_cache`). Refused (false) while sequences run or wait, as
   * SGLang refuses with requests pending.
   */
  resetCache(): boolean {
    if (this.#stats.running > 0 || this.#stats.waiting > 0) return false;
    this.#cache.clear();
    return true;
  }

  /** Stop: every unfinished sequence's sink hears `aborted()`, timers are cleared. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#time.clearTimer(this.#timer);
    this.#timer = undefined;
    for (const seq of this.#active) {
      seq.phase = "done";
      seq.sink.aborted();
    }
    this.#active.clear();
  }

  #cancel(seq: Seq): void {
    if (seq.phase === "done" || this.#closed) return;
    seq.silenced = true;
    // Catch the model clock up first, so what this frees is admitted now, not in the past.
    this.#advance(this.#now());
    // #advance may have finished it.
    if ((seq.phase as Phase) !== "done") {
      if (seq.phase === "waiting") {
        seq.phase = "done";
        this.#stats.waiting--;
        this.#active.delete(seq);
      } else {
        this.#release(seq);
      }
      this.#stats.cancelled++;
      this.#admit();
    }
    this.#flushSoon();
    this.#schedule();
  }

  #now(): number {
    return (this.#time.now() - this.#origin) / this.#config.timeScale;
  }

  /** Process every event due by model time `to`, in time order. */
  #advance(to: number): void {
    for (
      let seq = this.#heap.peek();
      seq && seq.nextAt <= to;
      seq = this.#heap.peek()
    ) {
      this.#heap.pop();
      if (seq.phase === "done") continue; // cancelled while queued
      this.#clock = Math.max(this.#clock, seq.nextAt);
      this.#emit(seq);
    }
    this.#clock = Math.max(this.#clock, to);
  }

  #emit(seq: Seq): void {
    if (seq.phase === "prefill") {
      seq.phase = "decode";
      this.#decoding++;
      const at = this.#atFirstToken;
      at.promptTokens += seq.spec.promptIds.length;
      at.gpuHitTokens += seq.gpuHitTokens;
      at.offloadHitTokens += seq.offloadHitTokens;
      at.diskHitTokens += seq.diskHitTokens;
    }
    seq.emitted++;
    this.#stats.generationTokens++;
    if (!seq.touched) {
      seq.touched = true;
      this.#touched.push(seq);
    }
    if (seq.emitted === seq.spec.outputIds.length) {
      this.#release(seq);
      this.#stats.finished++;
      this.#admit();
      return;
    }
    seq.nextAt = this.#clock +
      interTokenMs(this.#decoding, this.#config.timing) +
      (seq.spec.jitterMs?.() ?? 0);
    this.#heap.push(seq);
  }

  /** Admit waiting sequences, first come first served, while they fit. */
  #admit(): void {
    const cache = this.#cache;
    while (this.#waitHead < this.#waiting.length) {
      const seq = this.#waiting[this.#waitHead];
      if (seq.phase !== "waiting") {
        this.#waitHead++;
        continue;
      }
      if (this.#stats.running >= this.#config.maxRunningSeqs) break;
      if (
        cache.gpuPinned + cache.pinCost(seq.hashes, seq.privateBlocks) >
          cache.gpuCapacity
      ) break;
      this.#waitHead++;
      this.#stats.waiting--;
      this.#start(seq);
    }
    if (this.#waitHead > 1024 && this.#waitHead * 2 > this.#waiting.length) {
      this.#waiting = this.#waiting.slice(this.#waitHead);
      this.#waitHead = 0;
    }
  }

  #start(seq: Seq): void {
    const { blockSize: bs, timing } = this.#config;
    const promptLen = seq.spec.promptIds.length;
    // As vLLM: the last prompt token is always computed, so at most P - 1 tokens hit.
    const hit = this.#cache.lookup(
      seq.hashes,
      Math.floor((promptLen - 1) / bs),
    );
    // Ground truth of the disk tier: an offloaded block lives on disk when
    // its hash is odd (before pinning loads it back to the GPU).
    let diskBlocks = 0;
    for (const hash of seq.hashes.slice(0, hit.gpuBlocks + hit.offloadBlocks)) {
      if (this.#cache.tierOf(hash) === "offload") {
        diskBlocks += Math.abs(hash) % 2;
      }
    }
    this.#cache.pin(seq.hashes);
    this.#cache.reserve(seq.privateBlocks);
    seq.gpuHitTokens = hit.gpuBlocks * bs;
    seq.offloadHitTokens = hit.offloadBlocks * bs;
    seq.diskHitTokens = diskBlocks * bs;
    const uncached = promptLen - seq.gpuHitTokens - seq.offloadHitTokens;
    const stats = this.#stats;
    stats.running++;
    stats.promptTokens += promptLen;
    stats.gpuHitTokens += seq.gpuHitTokens;
    stats.offloadQueryTokens += promptLen - seq.gpuHitTokens;
    stats.offloadHitTokens += seq.offloadHitTokens;
    stats.diskHitTokens += seq.diskHitTokens;
    const start = Math.max(this.#clock, this.#prefillFreeAt);
    this.#prefillFreeAt = start +
      prefillMs(uncached, seq.offloadHitTokens, timing);
    seq.phase = "prefill";
    seq.nextAt = this.#prefillFreeAt + (seq.spec.stallMs ?? 0) +
      (seq.spec.jitterMs?.() ?? 0);
    this.#heap.push(seq);
  }

  /** Free a running sequence's slots; its prompt and generated blocks stay cached. */
  #release(seq: Seq): void {
    const bs = this.#config.blockSize;
    if (seq.phase === "decode") this.#decoding--;
    seq.phase = "done";
    this.#stats.running--;
    this.#active.delete(seq);
    const { promptIds, outputIds } = seq.spec;
    const full = seq.hashes.length * bs;
    const tail = [
      ...Array.prototype.slice.call(promptIds, full),
      ...Array.prototype.slice.call(outputIds, 0, seq.emitted),
    ] as number[];
    this.#cache.unreserve(seq.privateBlocks);
    this.#cache.insert(blockHashes(tail, bs, {
      prev: seq.hashes.at(-1) ?? seq.spec.cacheSalt ?? 0,
    }));
    this.#cache.unpin(seq.hashes);
  }

  /**
   * Flush after the current call returns: a sink is never called from inside
   * submit() or cancel() (the caller may not hold the handle yet, or may be
   * inside a sink itself).
   */
  #flushSoon(): void {
    if (this.#flushQueued) return;
    this.#flushQueued = true;
    queueMicrotask(() => {
      this.#flushQueued = false;
      this.#flush();
    });
  }

  #flush(): void {
    const touched = this.#touched;
    this.#touched = [];
    for (const seq of touched) {
      seq.touched = false;
      const done = seq.emitted === seq.spec.outputIds.length;
      if (seq.silenced) continue;
      if (seq.phase !== "done" || done) seq.sink.progress(seq.emitted, done);
    }
  }

  #schedule(): void {
    while (this.#heap.peek()?.phase === "done") this.#heap.pop();
    const next = this.#heap.peek();
    if (this.#closed || !next) {
      if (this.#timer !== undefined) this.#time.clearTimer(this.#timer);
      this.#timer = undefined;
      this.#timerAt = Infinity;
      return;
    }
    if (this.#timer !== undefined && this.#timerAt <= next.nextAt) return;
    if (this.#timer !== undefined) this.#time.clearTimer(this.#timer);
    this.#timerAt = next.nextAt;
    const delay = Math.max(
      0,
      (next.nextAt - this.#now()) * this.#config.timeScale,
    );
    this.#timer = this.#time.setTimer(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.#advance(this.#now());
      this.#flush();
      this.#schedule();
    }, delay);
  }
}
