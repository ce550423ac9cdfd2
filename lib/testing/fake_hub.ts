/**
 * A stand-in for the Hugging Face Hub on loopback: serves what `answer`
 * returns for each path and logs every request's path and authorization.
 *
 * @module
 */

/** A logged request. */
export interface HubRequest {
  /** URL path. */
  path: string;
  /** The `authorization` header, or null. */
  authorization: string | null;
}

/** A running fake Hub; shut `server` down when done. */
export interface FakeHub {
  /** The server. */
  server: Deno.HttpServer<Deno.NetAddr>;
  /** Its origin, `http://127.0.0.1:PORT` (use as `HF_ENDPOINT`). */
  url: string;
  /** Requests received, in order. */
  requests: HubRequest[];
}

/** Start a fake Hub answering each path with `answer(path)`. */
export function serveFakeHub(answer: (path: string) => Response): FakeHub {
  const requests: HubRequest[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) => {
      const path = new URL(request.url).pathname;
      requests.push({
        path,
        authorization: request.headers.get("authorization"),
      });
      return answer(path);
    },
  );
  return { server, url: `http://127.0.0.1:${server.addr.port}`, requests };
}
