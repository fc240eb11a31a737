// The CLI reads a relay's answers up to a byte bound: something at the relay's URL that answers without
// end (or announces more than the bound) gets a clear error instead of filling the CLI's memory.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { observeHealth } from "../../cli/lib/health-wait.ts";
import { MAX_ANSWER_BYTES } from "../../cli/lib/http-request.ts";
import { ensureBundle } from "./support/bundle.ts";
import { runCli } from "./support/run-cli.ts";

const MiB = 1024 * 1024;
let server: Server;
let url: string;

beforeAll(async () => {
  ensureBundle();
  server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path.startsWith("/announced")) {
      // Announces a body far over the bound and sends only a little of it, then waits.
      res.writeHead(200, { "content-type": "application/json", "content-length": String(4 * MAX_ANSWER_BYTES) });
      res.write("[");
      return;
    }
    // Streams (chunked, no length) a bit more than the bound, then ends: without a bound the CLI reads it all.
    res.writeHead(200, { "content-type": "application/json" });
    const chunk = Buffer.alloc(MiB, 0x20);
    let sent = 0;
    const pump = () => {
      while (sent < MAX_ANSWER_BYTES + 8 * MiB) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end("{}");
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("answers over the byte bound", () => {
  it("an endless (chunked) answer stops at the bound: exit 1 naming the request, the bound and the URL", async () => {
    const result = await runCli(["stats", "--json", "--url", `${url}/streamed`, "--timeout", "30"], { timeoutMs: 60_000 });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toContain(`the answer to GET /stats from ${url}/streamed is larger than ${MAX_ANSWER_BYTES / MiB} MiB`);
    expect(result.stderr).toMatch(/hint: .*check the relay URL/);
  });

  it("an answer that announces more than the bound is refused before its body is read", async () => {
    const started = Date.now();
    const result = await runCli(["status", "--url", `${url}/announced`, "--timeout", "30"], { timeoutMs: 60_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`the answer to GET /status from ${url}/announced is larger than ${MAX_ANSWER_BYTES / MiB} MiB`);
    // Not the 30 s timeout: the length alone decided.
    expect(Date.now() - started).toBeLessThan(25_000);
  });

  it("health under --json reports the same failure", async () => {
    const result = await runCli(["health", "--json", "--url", `${url}/streamed-health`, "--timeout", "30"], { timeoutMs: 60_000 });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("is larger than");
  });

  it("deploy's wait for /health reads at most 1 MiB of an answer", async () => {
    const observed = await observeHealth(`${url}/deploy-wait`, 30_000);
    expect(observed).toEqual({ state: "unreachable", error: "the answer is larger than 1 MiB" });
  });
});
