import { readSettings } from "../config/settings.ts";
import type { ConfigProblem, Env } from "../contract.ts";
import { errorResponse } from "./responses.ts";

/** Who may call a route: anyone, anyone unless read routes are protected, or the admin only. */
export type Access = "public" | "read" | "admin";

/** The HTTP layer's own settings, validated. */
export interface HttpConfig {
  adminToken: string | null;
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

/** null when the request may proceed, otherwise the refusal (401, or 403 when no token is configured). */
export async function authorize(request: Request, access: Access, config: HttpConfig): Promise<Response | null> {
  if (access === "public" || (access === "read" && !config.protectReadRoutes)) return null;
  if (config.adminToken === null) {
    const why = access === "admin" ? "Control routes are disabled because ADMIN_TOKEN is not set." : "Read routes are protected (PROTECT_READ_ROUTES) but ADMIN_TOKEN is not set.";
    return errorResponse(403, "admin-token-not-set", `${why} Set it with \`npx wrangler secret put ADMIN_TOKEN\` (locally: ADMIN_TOKEN in .dev.vars), then send \`Authorization: Bearer <token>\`.`);
  }
  const header = request.headers.get("authorization") ?? "";
  const match = /^Bearer[ \t]+(.+)$/i.exec(header.trim());
  const challenge = { "www-authenticate": 'Bearer realm="jetstream-relay"' };
  if (!match) return errorResponse(401, "unauthorized", "This route needs `Authorization: Bearer <ADMIN_TOKEN>`.", {}, challenge);
  if (!(await tokensEqual(match[1]!, config.adminToken))) {
    return errorResponse(401, "unauthorized", "The token sent in `Authorization: Bearer …` is not the ADMIN_TOKEN.", {}, { ...challenge, "www-authenticate": 'Bearer realm="jetstream-relay", error="invalid_token"' });
  }
  return null;
}
