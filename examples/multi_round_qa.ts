/**
 * Multi-round QA in the style of LMCache's multi-round-qa benchmark: `users`
 * users each hold a conversation of `rounds` questions. Every prompt starts
 * with one system prompt shared by all users, then the user's own context,
 * then the user's history (earlier questions and the server's answers), so a
 * prefix cache can serve everything but the newest question. Users join at
 * `qps` per second and wait `users / qps` seconds between rounds, so requests
 * arrive at about `qps` per second overall. Prints TTFT and cache hits per
 * round.
 *
 * ```sh
 * deno run -A examples/multi_round_qa.ts --endpoint http://127.0.0.1:8000 \
 *   --users 10 --rounds 5 --qps 2 --system-tokens 1000 --context-tokens 2000
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  constantRate,
  discoverModels,
  mean,
  multiTurn,
  normalizeEndpoint,
  numberedQuestions,
  openLoop,
  percentile,
  recordTotals,
  renderTable,
  repeatedWordContexts,
  type RequestRecord,
  run,
  type Session,
  sharedPrefix,
} from "../mod.ts";

const { values } = parseArgs({
  options: {
    endpoint: { type: "string", default: "http://127.0.0.1:8000" },
    model: { type: "string" },
    users: { type: "string", default: "10" },
    rounds: { type: "string", default: "5" },
    qps: { type: "string", default: "2" },
    "system-tokens": { type: "string", default: "1000" },
    "context-tokens": { type: "string", default: "2000" },
    "answer-tokens": { type: "string", default: "100" },
  },
});
const baseUrl = normalizeEndpoint(values.endpoint);
const model = values.model ?? (await discoverModels(baseUrl))[0];
const users = Number(values.users), rounds = Number(values.rounds);
const qps = Number(values.qps), answerTokens = Number(values["answer-tokens"]);

// " rule" and " fact" are one token each with common BPE tokenizers.
const system = "System:" + " rule".repeat(Number(values["system-tokens"]));
const contexts = repeatedWordContexts(users, {
  tokens: Number(values["context-tokens"]),
  word: " fact",
}).map((context) => `\nUser ${context}`);
const questions = numberedQuestions(rounds, { text: ": tell me more\nA:" })
  .map((question) => `\nQ${question}`);

function* conversations(): Generator<Session> {
  for (let user = 0; user < users; user++) {
    yield multiTurn({
      prompt: sharedPrefix(system, contexts[user] + questions[0]),
      turns: questions.map((_, round) => ({
        maxTokens: answerTokens,
        waitMs: round + 1 < rounds ? users * 1000 / qps : 0,
        append: questions[round + 1],
      })),
      request: { ignoreEos: true },
    });
  }
}

const records: RequestRecord[] = [];
const summary = await run(conversations(), {
  endpoint: { baseUrl, model },
  load: openLoop(constantRate(qps)),
  onRecord: (record) => records.push(record),
});

const ms = (x: number): string => x.toFixed(1);
const row = (label: string, of: RequestRecord[]): string[] => {
  const t = recordTotals(of);
  const ttfts = t.ttftMs;
  return [
    label,
    `${t.ok}/${t.sent}`,
    ttfts.length ? ms(mean(ttfts)) : "-",
    ttfts.length ? ms(percentile(ttfts, 99)) : "-",
    String(t.promptTokens),
    String(t.cachedTokens),
    t.cacheHitRate === undefined ? "-" : (100 * t.cacheHitRate).toFixed(1),
  ];
};
console.log(
  `${users} users x ${rounds} rounds at ${qps} qps on ${model}: ` +
    `${summary.requests.ok} of ${summary.requests.sent} requests ok in ` +
    `${(summary.wallTimeMs / 1000).toFixed(1)} s`,
);
console.log(renderTable([
  { header: "Round" },
  { header: "OK/sent" },
  { header: "TTFT mean\n(ms)" },
  { header: "TTFT p99\n(ms)" },
  { header: "Prompt\ntokens" },
  { header: "Cached\ntokens" },
  { header: "Cache\nhit %" },
], [
  ...questions.map((_, i) =>
    row(String(i), records.filter((r) => r.turn === i))
  ),
  row("all", records),
], { title: "Multi-round QA" }));
