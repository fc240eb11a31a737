import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface HttpAnswer {
  status: number;
  statusText: string;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * The most the CLI reads of one answer. A relay's largest answers (a page of dead letters) stay well
 * below it; anything larger is not a relay's answer and must not fill the command's memory.
 */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** Thrown when the whole exchange took longer than allowed. */
export class RequestTimeout extends Error {
  override name = "TimeoutError";
}

/** Thrown when an answer announces or sends more bytes than allowed; reading stops there. */
export class AnswerTooLarge extends Error {
  override name = "AnswerTooLargeError";
  constructor(readonly limitBytes: number) {
    super(`the answer is larger than ${formatBytes(limitBytes)}`);
  }
}

/**
 * One HTTP exchange with node:http(s): no connection kept alive, so the command exits as soon as it is
 * done (fetch keeps a pooled socket and lazily loads a large module: both cost a short command dearly).
 * The timeout covers connecting, waiting and reading the body; the body is read up to `maxBytes`
 * (default MAX_ANSWER_BYTES), past which the exchange fails with AnswerTooLarge.
 */
export function httpExchange(
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number; maxBytes?: number },
): Promise<HttpAnswer> {
  const target = new URL(url);
  const send = target.protocol === "https:" ? httpsRequest : httpRequest;
  const maxBytes = init.maxBytes ?? MAX_ANSWER_BYTES;
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...init.headers, connection: "close" };
    if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
    const req = send(target, { method: init.method, headers, agent: false }, (res) => {
      if (Number(res.headers["content-length"]) > maxBytes) return void req.destroy(new AnswerTooLarge(maxBytes));
      const chunks: Buffer[] = [];
      let received = 0;
      res.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxBytes) return void req.destroy(new AnswerTooLarge(maxBytes));
        chunks.push(chunk);
      });
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

export function formatBytes(bytes: number): string {
  const MiB = 1024 * 1024;
  return bytes % MiB === 0 ? `${bytes / MiB} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}
