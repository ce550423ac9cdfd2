/**
 * Following a records file while another process writes it (a worker's):
 * each read returns the lines completed since the last one.
 *
 * @module
 */
import { parseRecordsLine, type RecordsLine } from "./records_file.ts";

/**
 * Reads the lines appended to a records file since the last read. The file
 * may not exist yet; a line still being written waits for its newline.
 *
 * @example Following a file as it grows
 * ```ts
 * import { RecordsTail } from "./records_tail.ts";
 * import assert from "node:assert/strict";
 *
 * const path = await Deno.makeTempFile({ suffix: ".jsonl" });
 * using tail = new RecordsTail(path);
 * await Deno.writeTextFile(path, '{"report":{"elapsedMs":5000}}\n{"run":', { append: true });
 * assert.deepEqual(await tail.read(), [{ kind: "report", elapsedMs: 5000 }]);
 * await Deno.writeTextFile(path, '{"startedAt":0,"elapsedMs":9,"stopReason":"duration"}}\n', { append: true });
 * assert.equal((await tail.read())[0].kind, "run");
 * assert.deepEqual(await tail.read(), []);
 * await Deno.remove(path);
 * ```
 */
export class RecordsTail implements Disposable {
  /** The file followed. */
  readonly path: string;
  #file: Deno.FsFile | undefined;
  #decoder = new TextDecoder();
  #partial = "";
  #line = 0;
  #buffer = new Uint8Array(1 << 16);

  /** Follow the records file at `path`. */
  constructor(path: string) {
    this.path = path;
  }

  /** The lines completed since the last read, in order. */
  async read(): Promise<RecordsLine[]> {
    return (await this.readChunk()).lines;
  }

  /**
   * The lines completed since the last read, and the text of their record
   * lines (each ending in a newline), to copy into another records file
   * without writing the records again.
   */
  async readChunk(): Promise<{ lines: RecordsLine[]; recordsText: string }> {
    if (this.#file === undefined) {
      try {
        this.#file = await Deno.open(this.path, { read: true });
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) {
          return { lines: [], recordsText: "" };
        }
        throw error;
      }
    }
    let text = this.#partial;
    while (true) {
      const n = await this.#file.read(this.#buffer);
      if (n === null) break;
      text += this.#decoder.decode(this.#buffer.subarray(0, n), {
        stream: true,
      });
    }
    const end = text.lastIndexOf("\n");
    this.#partial = text.slice(end + 1);
    const lines: RecordsLine[] = [];
    let recordsText = "";
    if (end < 0) return { lines, recordsText };
    for (const line of text.slice(0, end).split("\n")) {
      const parsed = parseRecordsLine(line, {
        path: this.path,
        line: ++this.#line,
      });
      if (parsed === undefined) continue;
      lines.push(parsed);
      if (parsed.kind === "record") recordsText += line + "\n";
    }
    return { lines, recordsText };
  }

  /** Stop following. */
  close(): void {
    this.#file?.close();
    this.#file = undefined;
  }

  /** Stop following. */
  [Symbol.dispose](): void {
    this.close();
  }
}
