// Helpers of the HTTP route tests: requests to the real worker (its fetch handler, real objects) and
// to handleHttp with a changed environment (other ADMIN_TOKEN / PROTECT_READ_ROUTES settings).
import { env, exports } from "cloudflare:workers";
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import type { Env } from "../../worker/contract.ts";
import { handleHttp } from "../../worker/http/router.ts";

export const ADMIN_TOKEN = "test-admin-token-of-at-least-32-characters"; // as in vitest.worker.config.ts
export const ORIGIN = "http://relay.test";

export interface CallOptions {
  method?: string;
  token?: string | null;
  authorization?: string;
  body?: unknown;
  /** Raw body text (sent as is). */
  text?: string;
  /** More headers; null removes one the helper sets. */
  headers?: Record<string, string | null>;
}

export function request(path: string, options: CallOptions = {}): Request {
  // As on Cloudflare, every request names its client; a fresh one each, so that failed logins of
  // different tests never add up to the throttle (worker/http/login-throttle.ts).
  const headers = new Headers({ "cf-connecting-ip": `10.${randomByte()}.${randomByte()}.${randomByte()}` });
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    if (value === null) headers.delete(name);
    else headers.set(name, value);
  }
  if (options.authorization !== undefined) headers.set("authorization", options.authorization);
  else if (options.token) headers.set("authorization", `Bearer ${options.token}`);
  const body = options.text ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  if (body !== undefined) headers.set("content-type", "application/json");
  return new Request(`${ORIGIN}${path}`, { method: options.method ?? (body === undefined ? "GET" : "POST"), headers, body });
}

/** Through the worker's own fetch handler, with the configured bindings. */
export async function call(path: string, options: CallOptions = {}): Promise<Response> {
  return (exports as unknown as { default: { fetch(r: Request): Promise<Response> } }).default.fetch(request(path, options));
}

export const admin = (path: string, options: CallOptions = {}) => call(path, { token: ADMIN_TOKEN, ...options });

/** Through handleHttp with the bindings changed (e.g. no ADMIN_TOKEN). */
export async function callWith(changes: Partial<Env> & Record<string, unknown>, path: string, options: CallOptions = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const response = await handleHttp(request(path, options), { ...(env as Env), ...changes } as Env, ctx);
  await waitOnExecutionContext(ctx);
  return response;
}

export async function body<T = Record<string, unknown>>(response: Response): Promise<T> {
  expectJson(response);
  return (await response.json()) as T;
}

export function expectJson(response: Response): void {
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json")) throw new Error(`expected JSON, got ${type} (${response.status})`);
}

const randomByte = () => crypto.getRandomValues(new Uint8Array(1))[0];
