import { errorMessage } from "../errors.ts";
/** JSON error body of every failed request: a sentence for people, a stable code for programs. */
export interface ApiError {
  error: string;
  code: string;
  [detail: string]: unknown;
}

const NO_STORE = { "cache-control": "no-store" };

export function json(body: unknown, status = 200, headers: HeadersInit = {}): Response {
  return new Response(JSON.stringify(body, null, 2) + "\n", {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...NO_STORE, ...Object.fromEntries(new Headers(headers)) },
  });
}

export function errorResponse(status: number, code: string, message: string, details: Record<string, unknown> = {}, headers: HeadersInit = {}): Response {
  const body: ApiError = { error: message, code, ...details };
  return json(body, status, headers);
}

export function notFound(path: string, known: string[]): Response {
  return errorResponse(404, "not-found", `No route ${path}. Routes: ${known.join(", ")} (GET / lists them).`);
}

export function methodNotAllowed(method: string, path: string, allowed: string[]): Response {
  const allow = allowed.join(", ");
  return errorResponse(405, "method-not-allowed", `${method} is not allowed on ${path}; use ${allow}.`, { allow: allowed }, { allow });
}

export function badRequest(message: string): Response {
  return errorResponse(400, "bad-request", message);
}

/**
 * The answer when a Durable Object's RPC method failed: 501 for what is not implemented yet, 503 when the
 * platform says the object is unavailable or overloaded (worth retrying), 500 for any other failure.
 */
export function objectFailure(what: string, error: unknown): Response {
  const message = errorMessage(error);
  if (/not implemented/i.test(message)) return errorResponse(501, "not-implemented", `${what}: ${message}`);
  // The object declined the request (e.g. a replay older than the server keeps): the caller's to change.
  if (message.startsWith("refused: ")) return errorResponse(409, "refused", message.slice("refused: ".length));
  const flags = (error ?? {}) as { retryable?: boolean; overloaded?: boolean };
  if (flags.retryable || flags.overloaded || error instanceof RpcTimeout) {
    return errorResponse(503, "unavailable", `${what}: ${message}`, {}, { "retry-after": "5" });
  }
  return errorResponse(500, "object-failed", `${what}: ${message}`);
}

export class RpcTimeout extends Error {}

/** Bounds an RPC call: a health check or a dashboard must answer even when an object hangs. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RpcTimeout(`no answer within ${ms / 1000} s`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
