/**
 * trie's checks before it sends: the endpoint, key and model (discovered
 * without `model=`), and the tokenizer that counts its prompts.
 *
 * @module
 */
import { err } from "../../lib/cli/common.ts";
import type { KvValues } from "../../lib/cli/kv_args.ts";
import { checkEndpoint } from "../../lib/openai/preflight_request.ts";
import { resolveTokenizer } from "../../lib/openai/server_tokenizer.ts";
import type { Tokenizer } from "../../lib/text/tokenizer.ts";
import { logLine } from "./log_line.ts";

/**
 * Check the endpoint, key and model (discovered without `model=`; the
 * tokenizer first when the model is named, so a tokenizer error comes
 * before a network one) and resolve the tokenizer; sets `v.model`.
 */
export async function trieTokenizer(
  v: KvValues,
  baseUrl: string,
  signal: AbortSignal,
): Promise<{ tokenizer: Tokenizer; tokenizerName: string }> {
  const apiKey = (v.api_key as string | null) ??
    Deno.env.get("OPENAI_API_KEY");
  const check = async (): Promise<void> => {
    const checked = await checkEndpoint(baseUrl, {
      apiKey,
      model: (v.model as string | null) ?? undefined,
      signal,
    });
    if (checked.warning !== undefined && !v.worker) {
      err(logLine("warning", checked.warning) + "\n");
    }
    if (checked.discovered && !v.worker) {
      err(logLine("info", "found model", { model: checked.model }) + "\n");
    }
    v.model = checked.model;
  };
  const discover = v.model === null || v.model === undefined;
  if (discover) await check();
  const resolved = await resolveTokenizer(
    (v.tokenizer_model as string | null) ?? undefined,
    { baseUrl, model: v.model as string, apiKey, signal, progress: true },
  );
  if (resolved.fellBack !== undefined && !v.worker) {
    err(
      logLine(
        "info",
        "counting tokens with the server's /tokenize (set tokenizer_model= to choose)",
        { tried: resolved.fellBack },
      ) + "\n",
    );
  }
  if (!discover) await check();
  return { tokenizer: resolved.tokenizer, tokenizerName: resolved.source };
}
