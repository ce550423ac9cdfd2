/**
 * Session shapes: what one conversation sends.
 *
 * @module
 */
import type { RequestRecord, RequestSpec, Session } from "../lib/types.ts";

/**
 * A session of exactly one request; it fails when the request fails.
 *
 * @example Usage
 * ```ts
 * import { singleRequest } from "./sessions.ts";
 * const session = singleRequest({ prompt: "Hello", maxTokens: 16 });
 * ```
 */
export function singleRequest(
  spec: RequestSpec,
  options: { onRecord?: (record: RequestRecord) => void } = {},
): Session {
  return async (ctx) => {
    const record = await ctx.send(spec);
    options.onRecord?.(record);
    return record.ok;
  };
}
