import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface HttpAnswer {
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** Thrown when the whole exchange took longer than allowed. */
export class RequestTimeout extends Error {
  override name = "TimeoutError";
}

/**
 * One HTTP exchange with node:http(s): no connection kept alive, so the command exits as soon as it is
 * done (fetch keeps a pooled socket and lazily loads a large module: both cost a short command dearly).
 * The timeout covers connecting, waiting and reading the body.
 */
export function httpExchange(url: string, init: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number }): Promise<HttpAnswer> {
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...init.headers, connection: "close" };
    if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
    const req = send(target, { method: init.method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("error", fail);
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? "", headers: res.headers, text: Buffer.concat(chunks).toString("utf8") });
      });
    });
    const timer = setTimeout(() => req.destroy(new RequestTimeout(`no answer within ${init.timeoutMs} ms`)), init.timeoutMs);
    function fail(error: Error) {
      clearTimeout(timer);
      reject(error);
    }
    req.on("error", fail);
    req.end(init.body);
  });
}
