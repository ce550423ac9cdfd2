/**
 * Run a test body with some environment variables set (undefined deletes
 * one), then put them back as they were.
 *
 * @module
 */

/** Run `fn` with the given env values (undefined deletes), then restore them. */
export async function withEnv<T>(
  values: Record<string, string | undefined>,
  fn: () => T | Promise<T>,
): Promise<T> {
  const saved = Object.fromEntries(
    Object.keys(values).map((name) => [name, Deno.env.get(name)]),
  );
  const apply = (entries: Record<string, string | undefined>): void => {
    for (const [name, value] of Object.entries(entries)) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  };
  apply(values);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}
