import { readSettings } from "../config/settings.ts";
import type { ConfigProblem, Env } from "../contract.ts";
import { clientOf, LoginThrottle } from "./login-throttle.ts";
import { errorResponse } from "./responses.ts";

/** Who may call a route: anyone, anyone unless read routes are protected, or the admin only. */
export type Access = "public" | "read" | "admin";

/** The HTTP layer's own settings, validated. */
export interface HttpConfig {
  adminToken: string | null;
  /** ADMIN_TOKEN is set but not used (shorter than 32 characters: a configuration problem). */
  adminTokenRefused: boolean;
  /** Read routes need the admin token too. */
  protectReadRoutes: boolean;
  problems: ConfigProblem[];
}

/** The HTTP layer's settings, from the configuration registry (config/registry.ts, read by config/settings.ts). */
export function parseHttpConfig(env: Env): HttpConfig {
  const { http, byPart } = readSettings(env);
  return { ...http, problems: [...byPart.http] };
}

/** Compares through SHA-256 digests so that neither the length nor the content leaks through timing. */
export async function tokensEqual(given: string, expected: string): Promise<boolean> {
  const encoder = new TextEncoder();
  const [a, b] = await Promise.all([
    crypto.subtle.digest("SHA-256", encoder.encode(given)),
    crypto.subtle.digest("SHA-256", encoder.encode(expected)),
  ]);
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let difference = 0;
  for (let i = 0; i < x.length; i++) difference |= x[i]! ^ y[i]!;
  return difference === 0;
}

/** Failed admin logins, per client, in this isolate (see login-throttle.ts). */
const throttle = new LoginThrottle();

/** null when the request may proceed, otherwise the refusal (401; 403 when no usable token is configured; 429 after too many failures). */
export async function authorize(request: Request, access: Access, config: HttpConfig, nowMs = Date.now()): Promise<Response | null> {
  if (access === "public" || (access === "read" && !config.protectReadRoutes)) return null;
  if (config.adminToken === null) {
    const refused = config.adminTokenRefused ? config.problems.find((p) => p.variable === "ADMIN_TOKEN") : undefined;
    const why =
      refused !== undefined
        ? `${access === "admin" ? "Control routes are" : "Read routes are protected (PROTECT_READ_ROUTES) and"} disabled because ADMIN_TOKEN is shorter than 32 characters. ${refused.fix}`
        : `${access === "admin" ? "Control routes are disabled because ADMIN_TOKEN is not set." : "Read routes are protected (PROTECT_READ_ROUTES) but ADMIN_TOKEN is not set."} Set it with \`npx wrangler secret put ADMIN_TOKEN\` (locally: ADMIN_TOKEN in .dev.vars), then send \`Authorization: Bearer <token>\`.`;
    return errorResponse(403, refused ? "admin-token-too-short" : "admin-token-not-set", why);
  }
  const client = clientOf(request);
  const wait = throttle.retryAfterSeconds(client, nowMs);
  if (wait > 0) {
    return errorResponse(429, "too-many-failed-logins", `Too many wrong admin tokens from this client: try again in ${wait} s.`, { retryAfterSeconds: wait }, { "retry-after": String(wait) });
  }
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer[ \t]+(.+)$/i.exec(header.trim());
  const challenge = { "www-authenticate": 'Bearer realm="jetstream-relay"' };
  if (!match) return errorResponse(401, "unauthorized", "This route needs `Authorization: Bearer <ADMIN_TOKEN>`.", {}, challenge);
  if (!(await tokensEqual(match[1]!, config.adminToken))) {
    throttle.failed(client, nowMs);
    return errorResponse(401, "unauthorized", "The token sent in `Authorization: Bearer …` is not the ADMIN_TOKEN.", {}, { ...challenge, "www-authenticate": 'Bearer realm="jetstream-relay", error="invalid_token"' });
  }
  throttle.succeeded(client);
  return null;
}
