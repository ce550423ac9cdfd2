/**
 * Keeping secrets out of results files.
 *
 * @module
 */

const SECRET_KEY = /^(api[_-]?key|authorization|token|hf[_-]?token)$/i;

/**
 * A copy of `value` without the keys that hold credentials (`api_key`,
 * `apiKey`, `api-key`, `authorization`, `token`, `hf_token`), at any depth of
 * plain objects and arrays.
 *
 * @example Usage
 * ```ts
 * import { redactSecrets } from "./redact.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(
 *   redactSecrets({ model: "m", api_key: "sk-1", nested: [{ apiKey: "sk-2", n: 1 }] }),
 *   { model: "m", nested: [{ n: 1 }] },
 * );
 * ```
 */
export function redactSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map(redactSecrets) as T;
  if (typeof value !== "object" || value === null) return value;
  if (Object.getPrototypeOf(value) !== Object.prototype) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    if (SECRET_KEY.test(k)) continue;
    out[k] = redactSecrets(v);
  }
  return out as T;
}
