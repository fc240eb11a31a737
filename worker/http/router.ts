import type { Env } from "../contract.ts";
import { type Access, authorize, parseHttpConfig } from "./auth.ts";
import * as handlers from "./handlers.ts";
import { HttpFailure, type RouteContext } from "./handlers.ts";
import { InputError } from "./request-input.ts";
import { badRequest, errorResponse, json, methodNotAllowed, notFound } from "./responses.ts";
import { VERSION } from "../version.ts";
import { errorMessage } from "../errors.ts";

export interface Route {
  method: "GET" | "POST";
  path: string;
  access: Access;
  description: string;
  handle: (context: RouteContext) => Promise<Response>;
}

export const ROUTES: Route[] = [
  { method: "GET", path: "/", access: "public", description: "API information and the list of routes", handle: async (c) => apiInfo(c) },
  { method: "GET", path: "/stats", access: "read", description: "statistics (JSON), plus the dead-letter count", handle: handlers.stats },
  { method: "GET", path: "/stats/html", access: "read", description: "the dashboard (HTML, refreshes every 30 s)", handle: handlers.dashboard },
  { method: "GET", path: "/status", access: "read", description: "connection state, endpoint, cursor, lag, last error, reconnects, configuration", handle: handlers.status },
  { method: "GET", path: "/health", access: "public", description: "200 when healthy, 503 with the reasons when not", handle: handlers.health },
  { method: "GET", path: "/metrics", access: "read", description: "Prometheus text exposition", handle: handlers.metrics },
  { method: "POST", path: "/reset", access: "admin", description: "reset the statistics (never the cursor)", handle: handlers.reset },
  { method: "POST", path: "/reconnect", access: "admin", description: "reconnect to Jetstream from the saved cursor", handle: handlers.reconnect },
  { method: "POST", path: "/webhook/resume", access: "admin", description: "resume webhook delivery paused by a 410 Gone answer (the waiting events are then delivered)", handle: handlers.resumeDelivery },
  { method: "POST", path: "/gaps/ack", access: "admin", description: "acknowledge the detected gaps (they leave /health's reasons)", handle: handlers.acknowledgeGaps },
  { method: "GET", path: "/dlq", access: "admin", description: "dead-lettered events, paged by rows and bytes (?offset=&limit=&maxBytes=)", handle: handlers.listDeadLetters },
  { method: "GET", path: "/dlq/events/:id", access: "admin", description: "one dead letter in full", handle: handlers.getDeadLetter },
  { method: "POST", path: "/dlq/replay", access: "admin", description: 'start a replay job (or attach to it): {"ids": [...]} or {"all": true}, optional "job": id; {"job": id} resumes a failed one', handle: handlers.replayDeadLetters },
  { method: "GET", path: "/dlq/replay", access: "admin", description: "the latest dead-letter replay jobs, newest first", handle: handlers.listDeadLetterReplays },
  { method: "GET", path: "/dlq/replay/:id", access: "admin", description: "progress of one dead-letter replay job", handle: handlers.getDeadLetterReplay },
  { method: "POST", path: "/dlq/purge", access: "admin", description: 'delete dead letters: {"ids": [...]} or {"all": true}', handle: handlers.purgeDeadLetters },
  { method: "POST", path: "/replay", access: "admin", description: 'replay a window of the past: {"from": ISO or duration ago, "to"?, "collections"?}', handle: handlers.startReplay },
  { method: "GET", path: "/replay", access: "read", description: "progress of the latest replay", handle: handlers.getReplay },
  { method: "POST", path: "/replay/cancel", access: "admin", description: "cancel the running replay", handle: handlers.cancelReplay },
];

function apiInfo({ config, url }: RouteContext): Response {
  return json({
    name: "jetstream-relay",
    version: VERSION,
    description: "Relays the Bluesky Jetstream firehose to a webhook.",
    dashboard: `${url.origin}/stats/html`,
    auth: {
      scheme: "Authorization: Bearer <ADMIN_TOKEN>",
      adminTokenSet: config.adminToken !== null,
      readRoutesProtected: config.protectReadRoutes,
    },
    routes: ROUTES.map((r) => ({
      method: r.method,
      path: r.path,
      auth: r.access === "admin" || (r.access === "read" && config.protectReadRoutes) ? "admin" : "none",
      description: r.description,
    })),
  });
}

/** The parameters of a route's path ("/dlq/replay/:id") in a request's path, or null when it does not match. */
export function matchPath(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/");
  const got = path.split("/");
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    if (part.startsWith(":")) {
      if (got[i] === "") return null;
      try {
        params[part.slice(1)] = decodeURIComponent(got[i]);
      } catch {
        return null;
      }
    } else if (part !== got[i]) return null;
  }
  return params;
}

/** "/stats/" → "/stats"; "//" and empty → "/". */
function normalizePath(pathname: string): string {
  const trimmed = pathname.replace(/\/+$/, "");
  return trimmed === "" ? "/" : trimmed;
}

/** The worker's HTTP entry: route, method, auth, then the handler; every failure is a JSON error. */
export async function handleHttp(request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
  const url = new URL(request.url);
  const path = normalizePath(url.pathname);
  const candidates = ROUTES.filter((r) => matchPath(r.path, path) !== null);
  if (candidates.length === 0) return notFound(path, [...new Set(ROUTES.map((r) => r.path))]);

  const allowed = [...new Set(candidates.flatMap((r) => (r.method === "GET" ? ["GET", "HEAD"] : [r.method])))];
  if (request.method === "OPTIONS") return new Response(null, { status: 204, headers: { allow: [...allowed, "OPTIONS"].join(", ") } });
  const method = request.method === "HEAD" ? "GET" : request.method;
  const route = candidates.find((r) => r.method === method);
  if (!route) return methodNotAllowed(request.method, path, allowed);

  let response: Response;
  try {
    const config = parseHttpConfig(env);
    const refused = await authorize(request, route.access, config);
    const params = matchPath(route.path, path) ?? {};
    response = refused ?? (await route.handle({ request, url, env, ctx, config, now: new Date(), params }));
  } catch (error) {
    if (error instanceof HttpFailure) response = error.response;
    else if (error instanceof InputError) response = error.status === 413 ? errorResponse(413, "too-large", error.message) : badRequest(error.message);
    else {
      console.error(`${request.method} ${path} failed:`, error);
      response = errorResponse(500, "internal-error", `${request.method} ${path} failed: ${errorMessage(error)}`);
    }
  }
  return request.method === "HEAD" ? new Response(null, response) : response;
}
