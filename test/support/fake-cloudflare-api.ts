// A local fake of the Cloudflare v4 API, enough for the real `wrangler` binary to run `whoami`,
// `queues list/create/info`, `secret put`, `deploy` (first and later, with a Durable Object migration,
// queue producers/consumers, cron triggers, workers.dev subdomain) and `tail`. It records every call so
// tests can assert what wrangler did. Point wrangler at it with
// CLOUDFLARE_API_BASE_URL=<base> CLOUDFLARE_API_TOKEN=<token> CLOUDFLARE_ACCOUNT_ID=<accountId>.
import { createHash, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export interface RecordedCall {
  method: string;
  /** Path below /client/v4, e.g. "/accounts/abc/queues". */
  path: string;
  /** Query parameters (the last value of each; `search` has them all). */
  query: Record<string, string>;
  search: string;
  /** The raw body as text (multipart bodies included). */
  body: string;
  contentType: string;
}

export interface FakeQueue {
  queue_id: string;
  queue_name: string;
  created_on: string;
  modified_on: string;
  consumers: { consumer_id: string; script: string; type: "worker"; settings: Record<string, unknown>; dead_letter_queue?: string }[];
}

export interface FakeScript {
  name: string;
  /** The metadata part of the last upload (bindings, migrations, main_module…). */
  metadata: Record<string, unknown> | null;
  /** Module names uploaded with the last upload. */
  modules: string[];
  migrationTag: string | null;
  secrets: Map<string, string>;
  deployments: number;
  versions: number;
  schedules: { cron: string }[];
  subdomainEnabled: boolean;
}

/** A failure the fake answers with instead of the normal result. */
export interface FailureRule {
  method?: string;
  /** Regular expression the path (below /client/v4) must match. */
  path: RegExp;
  status: number;
  code: number;
  message: string;
  /** How many times (default: always). */
  times?: number;
}

export interface TailEvent {
  [key: string]: unknown;
}

export interface FakeCloudflareApi {
  /** The value for CLOUDFLARE_API_BASE_URL. */
  base: string;
  accountId: string;
  token: string;
  subdomain: string;
  calls: RecordedCall[];
  queues: Map<string, FakeQueue>;
  scripts: Map<string, FakeScript>;
  /** Calls matching method and a path regular expression. */
  callsTo(method: string, path: RegExp): RecordedCall[];
  /** Answer matching requests with an API error. */
  fail(rule: FailureRule): void;
  /** Accept only this token from now on (others get an authentication error). */
  setToken(token: string): void;
  /** Tail WebSocket sessions open now. */
  openTails(): number;
  /** Send events to every connected tail session; resolves once at least one session is connected. */
  sendTailEvent(event: TailEvent): Promise<void>;
  close(): Promise<void>;
}

const envelope = (result: unknown, extra: Record<string, unknown> = {}) => ({ success: true, errors: [], messages: [], result, ...extra });
const failure = (code: number, message: string) => ({ success: false, errors: [{ code, message }], messages: [], result: null });

/** One unmasked WebSocket frame from the server (FIN set). */
function frame(opcode: number, payload: Buffer): Buffer {
  const first = 0x80 | opcode;
  let header: Buffer;
  if (payload.length < 126) header = Buffer.from([first, payload.length]);
  else if (payload.length < 65536) header = Buffer.from([first, 126, payload.length >> 8, payload.length & 0xff]);
  else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(payload.length), 2);
  }
  return Buffer.concat([header, payload]);
}

/** The parts of a multipart/form-data body (name → text), parsed with the platform's own parser. */
async function multipartParts(body: Buffer, contentType: string): Promise<Map<string, string>> {
  const form = await new Response(body, { headers: { "content-type": contentType } }).formData();
  const parts = new Map<string, string>();
  for (const [name, value] of form.entries()) parts.set(name, typeof value === "string" ? value : await value.text());
  return parts;
}

export async function startFakeCloudflareApi(
  options: { accountId?: string; token?: string; subdomain?: string; otherAccounts?: { id: string; name: string }[] } = {},
): Promise<FakeCloudflareApi> {
  const accountId = options.accountId ?? "0123456789abcdef0123456789abcdef";
  const accounts = [{ id: accountId, name: "Relay Tester's Account" }, ...(options.otherAccounts ?? [])];
  let token = options.token ?? "test-token-" + randomUUID();
  const subdomain = options.subdomain ?? "example-subdomain";
  const calls: RecordedCall[] = [];
  const queues = new Map<string, FakeQueue>();
  const scripts = new Map<string, FakeScript>();
  const rules: FailureRule[] = [];
  const sockets = new Set<Socket>();
  const tailSockets = new Set<Socket>();
  let tailWaiters: (() => void)[] = [];
  const now = () => new Date().toISOString();

  const script = (name: string) => {
    let s = scripts.get(name);
    if (!s) {
      s = { name, metadata: null, modules: [], migrationTag: null, secrets: new Map(), deployments: 0, versions: 0, schedules: [], subdomainEnabled: false };
      scripts.set(name, s);
    }
    return s;
  };
  const queueView = (q: FakeQueue) => ({
    queue_id: q.queue_id,
    queue_name: q.queue_name,
    created_on: q.created_on,
    modified_on: q.modified_on,
    producers_total_count: 0,
    producers: [],
    consumers_total_count: q.consumers.length,
    consumers: q.consumers.map((c) => ({ ...c, created_on: q.created_on })),
  });
  const queueById = (id: string) => [...queues.values()].find((q) => q.queue_id === id);

  async function applyUpload(name: string, body: Buffer, contentType: string) {
    const parts = await multipartParts(body, contentType);
    const s = script(name);
    const metadata = JSON.parse(parts.get("metadata") ?? "{}") as Record<string, unknown>;
    s.metadata = metadata;
    s.modules = [...parts.keys()].filter((k) => k !== "metadata");
    const migrations = metadata.migrations as { new_tag?: string } | undefined;
    if (migrations?.new_tag) s.migrationTag = migrations.new_tag;
    for (const binding of (metadata.bindings as { type: string; name: string; text?: string }[] | undefined) ?? []) {
      if (binding.type === "secret_text" && binding.text !== undefined) s.secrets.set(binding.name, binding.text);
    }
    return s;
  }

  type Handler = (m: RegExpMatchArray, call: RecordedCall, raw: Buffer, req: IncomingMessage) => Promise<[number, unknown]> | [number, unknown];
  const A = `/accounts/([^/]+)`;
  const S = `${A}/workers/scripts/([^/]+)`;
  const routes: [string, RegExp, Handler][] = [
    ["GET", /^\/user\/tokens\/verify$/, () => [200, envelope({ id: "token-id", status: "active" })]],
    ["GET", /^\/user$/, () => [200, envelope({ id: "user-id", email: "relay-tester@example.com" })]],
    ["GET", /^\/accounts$/, () => [200, envelope(accounts, { result_info: { page: 1, per_page: 50, count: accounts.length, total_count: accounts.length } })]],
    ["GET", /^\/memberships$/, () => [200, envelope(accounts.map((account) => ({ id: `m-${account.id}`, account, status: "accepted" })))]],
    ["GET", new RegExp(`^${A}/queues$`), (_m, call) => {
      const names = new URLSearchParams(call.search).getAll("name");
      const list = [...queues.values()].filter((q) => names.length === 0 || names.includes(q.queue_name)).map(queueView);
      const page = Number(call.query.page ?? "1");
      return [200, envelope(page > 1 ? [] : list, { result_info: { page, per_page: 100, count: list.length, total_count: list.length } })];
    }],
    ["POST", new RegExp(`^${A}/queues$`), (_m, call) => {
      const { queue_name } = JSON.parse(call.body) as { queue_name: string };
      if (queues.has(queue_name)) return [400, failure(11009, `A queue named ${queue_name} already exists`)];
      const q: FakeQueue = { queue_id: randomUUID().replaceAll("-", ""), queue_name, created_on: now(), modified_on: now(), consumers: [] };
      queues.set(queue_name, q);
      return [200, envelope(queueView(q))];
    }],
    ["GET", new RegExp(`^${A}/queues/([^/]+)$`), (m) => {
      const q = queueById(m[2]);
      return q ? [200, envelope(queueView(q))] : [404, failure(11000, "Queue not found")];
    }],
    ["GET", new RegExp(`^${A}/queues/([^/]+)/consumers$`), (m) => {
      const q = queueById(m[2]);
      return q ? [200, envelope(q.consumers)] : [404, failure(11000, "Queue not found")];
    }],
    ["POST", new RegExp(`^${A}/queues/([^/]+)/consumers$`), (m, call) => {
      const q = queueById(m[2]);
      if (!q) return [404, failure(11000, "Queue not found")];
      const input = JSON.parse(call.body) as { script_name?: string; script?: string; settings?: Record<string, unknown>; dead_letter_queue?: string };
      const scriptName = input.script_name ?? input.script ?? "";
      if (q.consumers.some((c) => c.script === scriptName)) return [400, failure(11005, "This queue already has a consumer for this script")];
      const consumer = { consumer_id: randomUUID(), script: scriptName, type: "worker" as const, settings: input.settings ?? {}, dead_letter_queue: input.dead_letter_queue };
      q.consumers.push(consumer);
      return [200, envelope(consumer)];
    }],
    ["PUT", new RegExp(`^${A}/queues/([^/]+)/consumers/([^/]+)$`), (m, call) => {
      const q = queueById(m[2]);
      const consumer = q?.consumers.find((c) => c.consumer_id === m[3]);
      if (!consumer) return [404, failure(11000, "Consumer not found")];
      const input = JSON.parse(call.body) as { settings?: Record<string, unknown>; dead_letter_queue?: string };
      consumer.settings = input.settings ?? consumer.settings;
      consumer.dead_letter_queue = input.dead_letter_queue;
      return [200, envelope(consumer)];
    }],
    ["GET", new RegExp(`^${A}/workers/services/([^/]+)$`), (m) => {
      const s = scripts.get(m[2]);
      if (!s || s.deployments === 0) return [404, failure(10007, "This Worker does not exist on your account.")];
      return [200, envelope({ id: s.name, default_environment: { environment: "production", script: { id: s.name, tag: "tag", etag: "etag", handlers: ["fetch", "queue", "scheduled"], last_deployed_from: "wrangler", migration_tag: s.migrationTag } } })];
    }],
    ["GET", new RegExp(`^${A}/workers/scripts$`), () => [200, envelope([...scripts.values()].map((s) => ({ id: s.name, migration_tag: s.migrationTag })))]],
    ["GET", new RegExp(`^${S}/deployments$`), (m) => [200, envelope({ deployments: (scripts.get(m[2])?.deployments ?? 0) > 0 ? [{ id: "dep", source: "wrangler", strategy: "percentage", versions: [{ version_id: "v", percentage: 100 }] }] : [] })]],
    ["POST", new RegExp(`^${S}/deployments$`), (m) => {
      const s = script(m[2]);
      s.deployments += 1;
      return [200, envelope({ id: randomUUID(), source: "wrangler", strategy: "percentage", versions: [] })];
    }],
    ["POST", new RegExp(`^${S}/versions$`), async (m, call, raw, req) => {
      const s = await applyUpload(m[2], raw, call.contentType || String(req.headers["content-type"]));
      s.versions += 1;
      return [200, envelope({ id: randomUUID(), number: s.versions, resources: { script: { etag: "etag" }, bindings: [] }, metadata: {} })];
    }],
    ["PUT", new RegExp(`^${S}$`), async (m, call, raw, req) => {
      const s = await applyUpload(m[2], raw, call.contentType || String(req.headers["content-type"]));
      // A full upload deploys the script at once (the first `deploy`, or the draft `secret put` makes).
      s.deployments += 1;
      return [200, envelope({ id: s.name, etag: "etag", deployment_id: randomUUID(), handlers: ["fetch", "queue", "scheduled"], migration_tag: s.migrationTag, startup_time_ms: 1 })];
    }],
    ["PUT", new RegExp(`^${S}/secrets$`), (m, call) => {
      const s = scripts.get(m[2]);
      if (!s) return [404, failure(10007, "This Worker does not exist on your account.")];
      const input = JSON.parse(call.body) as { name: string; text: string; type: string };
      s.secrets.set(input.name, input.text);
      return [200, envelope({ name: input.name, type: input.type })];
    }],
    ["GET", new RegExp(`^${S}/secrets$`), (m) => [200, envelope([...(scripts.get(m[2])?.secrets.keys() ?? [])].map((name) => ({ name, type: "secret_text" })))]],
    ["GET", new RegExp(`^${S}/settings$`), (m) => {
      const s = scripts.get(m[2]);
      if (!s) return [404, failure(10007, "This Worker does not exist on your account.")];
      return [200, envelope({ bindings: (s.metadata?.bindings as unknown[]) ?? [], logpush: false, observability: { enabled: true }, tail_consumers: [] })];
    }],
    ["PATCH", new RegExp(`^${S}/settings$`), () => [200, envelope({})]],
    ["PATCH", new RegExp(`^${S}/script-settings$`), () => [200, envelope({})]],
    ["GET", new RegExp(`^${A}/workers/subdomain$`), () => [200, envelope({ subdomain })]],
    ["GET", new RegExp(`^${S}/subdomain$`), (m) => [200, envelope({ enabled: scripts.get(m[2])?.subdomainEnabled ?? false, previews_enabled: false })]],
    ["POST", new RegExp(`^${S}/subdomain$`), (m) => {
      script(m[2]).subdomainEnabled = true;
      return [200, envelope({ enabled: true, previews_enabled: false })];
    }],
    ["PUT", new RegExp(`^${S}/schedules$`), (m, call) => {
      script(m[2]).schedules = JSON.parse(call.body) as { cron: string }[];
      return [200, envelope({ schedules: script(m[2]).schedules })];
    }],
    ["GET", new RegExp(`^${S}/schedules$`), (m) => [200, envelope({ schedules: scripts.get(m[2])?.schedules ?? [] })]],
    ["POST", new RegExp(`^${S}/tails$`), (m) => {
      if (!scripts.has(m[2])) return [404, failure(10007, "This Worker does not exist on your account.")];
      const id = randomUUID();
      return [200, envelope({ id, url: `ws://127.0.0.1:${port}/tail/${id}`, expires_at: new Date(Date.now() + 3_600_000).toISOString() })];
    }],
    ["DELETE", new RegExp(`^${S}/tails/([^/]+)$`), () => [200, envelope(null)]],
  ];

  function authorized(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bearer ${token}`;
  }

  const server = createServer((req, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", async () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const path = url.pathname.replace(/^\/client\/v4/, "");
      const call: RecordedCall = {
        method: req.method ?? "GET",
        path,
        query: Object.fromEntries(url.searchParams),
        search: url.search,
        body: raw.toString("utf8"),
        contentType: String(req.headers["content-type"] ?? ""),
      };
      calls.push(call);
      const send = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      try {
        if (!authorized(req)) {
          if (path === "/user/tokens/verify") return send(401, failure(1000, "Invalid API Token"));
          return send(400, failure(10000, "Authentication error"));
        }
        const rule = rules.find((r) => (r.method === undefined || r.method === call.method) && r.path.test(path) && r.times !== 0);
        if (rule) {
          if (rule.times !== undefined) rule.times -= 1;
          return send(rule.status, failure(rule.code, rule.message));
        }
        for (const [method, pattern, handler] of routes) {
          const match = method === call.method ? path.match(pattern) : null;
          if (match) {
            const [status, value] = await handler(match, call, raw, req);
            return send(status, value);
          }
        }
        send(404, failure(7003, `fake Cloudflare API: no route for ${call.method} ${path}`));
      } catch (error) {
        send(500, failure(10013, `fake Cloudflare API: ${String(error)}`));
      }
    });
  });

  // The tail WebSocket, written by hand: wrangler's first frame is unmasked, which strict servers reject.
  server.on("upgrade", (req, socket: Socket) => {
    if (!req.url?.startsWith("/tail/")) return socket.destroy();
    const accept = createHash("sha1").update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    socket.write(
      ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade", `Sec-WebSocket-Accept: ${accept}`, "Sec-WebSocket-Protocol: trace-v1", "", ""].join("\r\n"),
    );
    tailSockets.add(socket);
    // Client frames: the filter message is ignored, pings get their pong (wrangler gives up without one).
    let pending = Buffer.alloc(0);
    socket.on("data", (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      while (pending.length >= 2) {
        const opcode = pending[0] & 0x0f;
        const masked = (pending[1] & 0x80) !== 0;
        let length = pending[1] & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (pending.length < 4) return;
          length = pending.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (pending.length < 10) return;
          length = Number(pending.readBigUInt64BE(2));
          offset = 10;
        }
        const maskOffset = offset;
        if (masked) offset += 4;
        if (pending.length < offset + length) return;
        const payload = Buffer.from(pending.subarray(offset, offset + length));
        if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= pending[maskOffset + (i % 4)];
        pending = pending.subarray(offset + length);
        if (opcode === 0x9) socket.write(frame(0xa, payload));
        else if (opcode === 0x8) socket.end(frame(0x8, Buffer.alloc(0)));
      }
    });
    for (const gone of ["end", "close", "error"]) socket.on(gone, () => tailSockets.delete(socket));
    const waiters = tailWaiters;
    tailWaiters = [];
    for (const wake of waiters) wake();
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;


  return {
    base: `http://127.0.0.1:${port}/client/v4`,
    accountId,
    get token() {
      return token;
    },
    subdomain,
    calls,
    queues,
    scripts,
    callsTo: (method, path) => calls.filter((c) => c.method === method && path.test(c.path)),
    fail: (rule) => rules.push({ ...rule }),
    setToken: (next) => {
      token = next;
    },
    openTails: () => tailSockets.size,
    async sendTailEvent(event) {
      if (tailSockets.size === 0) await new Promise<void>((resolve) => tailWaiters.push(resolve));
      for (const socket of tailSockets) socket.write(frame(0x1, Buffer.from(JSON.stringify(event), "utf8")));
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
