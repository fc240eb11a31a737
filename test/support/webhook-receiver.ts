// A webhook receiver for the tests: a real HTTP server on 127.0.0.1 that records every request and
// answers as told. Tests inside workerd steer it over HTTP on the same port:
//
//   POST /_control/rules      {path?, match?, action, status?, headers?, body?, times?, hangMs?}  → {id}
//       action "respond" (status, headers, body, after delayMs), "hang" (no answer until hangMs, then the connection
//       is dropped) or "drop" (the connection is destroyed at once). `path` limits the rule to one
//       request path, `match` to bodies containing that text; `times` = for the next N matching
//       requests, absent = from now on. The oldest live matching rule wins; default: 200 "ok".
//   GET  /_control/requests?path=P&match=T   → {requests: ReceivedRequest[]} (oldest first)
//   POST /_control/reset      {path?}  → forget requests and rules (of one path, or all)
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export interface ReceiverRule {
  path?: string;
  match?: string;
  action: "respond" | "hang" | "drop";
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  times?: number;
  hangMs?: number;
  /** "respond": wait this long before answering. */
  delayMs?: number;
}

export interface ReceivedRequest {
  seq: number;
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
  /** epoch ms */
  receivedAt: number;
  /** What the receiver did: an HTTP status, or "hang" / "drop". */
  answer: number | "hang" | "drop";
  /** epoch ms at which the answer was sent (null: not answered) */
  answeredAt: number | null;
  /** Number of the TCP connection it came on (1, 2, …): equal numbers mean a reused connection. */
  connection: number;
}

interface LiveRule extends ReceiverRule {
  id: number;
  remaining: number | null;
}

const CONTROL = "/_control/";

export async function startWebhookReceiver(options: { port?: number } = {}): Promise<{ base: string; close(): Promise<void> }> {
  const requests: ReceivedRequest[] = [];
  let rules: LiveRule[] = [];
  let seq = 0;
  let ruleId = 0;
  const sockets = new Set<Socket>();
  const connectionIds = new WeakMap<Socket, number>();
  let connections = 0;
  const hangTimers = new Set<NodeJS.Timeout>();

  function pickRule(path: string, body: string): LiveRule | undefined {
    const rule = rules.find(
      (r) => r.remaining !== 0 && (r.path === undefined || r.path === path) && (r.match === undefined || body.includes(r.match)),
    );
    if (rule && rule.remaining !== null) rule.remaining -= 1;
    return rule;
  }

  function handleHook(req: IncomingMessage, res: ServerResponse, url: URL, body: string) {
    const rule = pickRule(url.pathname, body);
    const action = rule?.action ?? "respond";
    const answer = action === "respond" ? (rule?.status ?? 200) : action;
    const record: ReceivedRequest = {
      seq: ++seq,
      method: req.method ?? "",
      path: url.pathname,
      query: url.search,
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : (v ?? "")])),
      body,
      receivedAt: Date.now(),
      answer,
      answeredAt: null,
      connection: connectionIds.get(req.socket) ?? 0,
    };
    requests.push(record);
    if (action === "drop") {
      req.socket.destroy();
      return;
    }
    if (action === "hang") {
      const timer = setTimeout(() => {
        hangTimers.delete(timer);
        req.socket.destroy();
      }, rule?.hangMs ?? 60_000);
      hangTimers.add(timer);
      return;
    }
    const status = rule?.status ?? 200;
    const answerNow = () => {
      record.answeredAt = Date.now();
      res.writeHead(status, { "content-type": "text/plain", ...(rule?.headers ?? {}) });
      res.end(rule?.body ?? (status < 300 ? "ok" : `status ${status}`));
    };
    if (rule?.delayMs) {
      const timer = setTimeout(() => {
        hangTimers.delete(timer);
        answerNow();
      }, rule.delayMs);
      hangTimers.add(timer);
    } else answerNow();
  }

  function handleControl(req: IncomingMessage, res: ServerResponse, url: URL, body: string) {
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(value));
    };
    const input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    const route = `${req.method} ${url.pathname.slice(CONTROL.length)}`;
    if (route === "POST rules") {
      const rule = input as unknown as ReceiverRule;
      if (!["respond", "hang", "drop"].includes(rule.action)) return json(400, { error: "action must be respond, hang or drop" });
      const live: LiveRule = { ...rule, id: ++ruleId, remaining: rule.times ?? null };
      rules.push(live);
      return json(200, { id: live.id });
    }
    if (route === "GET requests") {
      const path = url.searchParams.get("path");
      const match = url.searchParams.get("match");
      const list = requests.filter((r) => (path === null || r.path === path) && (match === null || r.body.includes(match)));
      return json(200, { requests: list });
    }
    if (route === "POST reset") {
      const path = typeof input.path === "string" ? input.path : undefined;
      const keep = (p: string | undefined) => path !== undefined && p !== path;
      requests.splice(0, requests.length, ...requests.filter((r) => keep(r.path)));
      rules = rules.filter((r) => keep(r.path));
      return json(200, { ok: true });
    }
    return json(404, { error: `no control route ${route}` });
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      try {
        if (url.pathname.startsWith(CONTROL)) handleControl(req, res, url, body);
        else handleHook(req, res, url, body);
      } catch (error) {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(String(error));
      }
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    connectionIds.set(socket, ++connections);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    base: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of hangTimers) clearTimeout(timer);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
