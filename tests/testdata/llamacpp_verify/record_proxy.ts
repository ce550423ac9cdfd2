// Records the greedy (verify) requests kvbench sends and what the upstream answered.
// deno run -A record_proxy.ts <listenPort> <upstreamOrigin> <out.jsonl>
const [port, upstream, out] = Deno.args;
const file = await Deno.open(out, { create: true, append: true });
const enc = new TextEncoder();
Deno.serve({ hostname: "127.0.0.1", port: Number(port) }, async (req) => {
  const url = new URL(req.url);
  const body = req.method === "GET" || req.method === "HEAD" ? undefined : await req.arrayBuffer();
  const upstreamResponse = await fetch(upstream + url.pathname + url.search, {
    method: req.method,
    headers: req.headers,
    body,
  });
  let json: Record<string, unknown> | undefined;
  try {
    json = body ? JSON.parse(new TextDecoder().decode(body)) : undefined;
  } catch { /* not JSON */ }
  if (json && json.temperature === 0 && json.stream === false && json.logprobs !== undefined) {
    const text = await upstreamResponse.text();
    await file.write(enc.encode(JSON.stringify({ path: url.pathname, request: json, status: upstreamResponse.status, response: JSON.parse(text) }) + "\n"));
    return new Response(text, { status: upstreamResponse.status, headers: upstreamResponse.headers });
  }
  return new Response(upstreamResponse.body, { status: upstreamResponse.status, headers: upstreamResponse.headers });
});
