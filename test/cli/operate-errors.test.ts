import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FakeRelay, sampleStats, startFakeRelay } from "./support/fake-relay.ts";
import { ensureBundle } from "./support/bundle.ts";
import { runCli } from "./support/run-cli.ts";

// Error paths of the operate commands against small local HTTP servers that are not (well-behaved) relays.

const TOKEN = "s3cret-admin-token-value-of-32-characters-or-more";
let relay: FakeRelay;
let project: string;

beforeAll(async () => {
  ensureBundle();
  relay = await startFakeRelay();
  project = await mkdtemp(join(tmpdir(), "jr-cli-project-"));
});
afterAll(async () => {
  await relay.close();
  await rm(project, { recursive: true, force: true });
});
afterEach(() => {
  relay.requests.length = 0;
});

/** A port on which nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("where the CLI talks to", () => {
  it("without any URL it is a usage error (exit 2) that says how to give one", async () => {
    const result = await runCli(["stats"], { cwd: project });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("no relay URL");
    expect(result.stderr).toMatch(/--url.*JETSTREAM_RELAY_URL/);
    expect(result.stdout).toBe("");
  });

  it("a URL that is not http(s) is a usage error", async () => {
    const result = await runCli(["status", "--url", "ftp://example.com"], { cwd: project });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("must start with http:// or https://");
  });

  it("--url wins over JETSTREAM_RELAY_URL, which wins over the project file", async () => {
    relay.set({ "GET /stats": { json: sampleStats() } });
    const other = await startFakeRelay({ "GET /stats": { json: sampleStats({ totalReceived: 7 }) } });
    try {
      await writeFile(join(project, "jetstream-relay.json"), JSON.stringify({ name: "x", wranglerConfig: "wrangler.jsonc", url: other.url }));
      const fromFile = await runCli(["stats", "--json"], { cwd: project });
      expect(fromFile.code).toBe(0);
      expect(JSON.parse(fromFile.stdout).totalReceived).toBe(7);

      const fromEnv = await runCli(["stats", "--json"], { cwd: project, env: { JETSTREAM_RELAY_URL: relay.url } });
      expect(JSON.parse(fromEnv.stdout).totalReceived).toBe(5000);

      const fromFlag = await runCli(["stats", "--json", "--url", other.url], { cwd: project, env: { JETSTREAM_RELAY_URL: relay.url } });
      expect(JSON.parse(fromFlag.stdout).totalReceived).toBe(7);
    } finally {
      await other.close();
      await rm(join(project, "jetstream-relay.json"), { force: true });
    }
  });

  it("takes the admin token from JETSTREAM_RELAY_TOKEN, the local token file bound to the relay, or --token-file, and never prints it", async () => {
    relay.set({ "POST /reconnect": (req) => (req.authorization === `Bearer ${TOKEN}` ? { json: { state: "connecting", cursor: 1 } } : { status: 401, json: { error: "The bearer token is not the ADMIN_TOKEN." } }) });

    const fromEnv = await runCli(["reconnect", "--url", relay.url], { cwd: project, env: { JETSTREAM_RELAY_TOKEN: TOKEN } });
    expect(fromEnv.code).toBe(0);

    // The file init writes and deploy binds to the relay's URL (test/cli/token-source.test.ts covers the rest).
    await mkdir(join(project, ".jetstream-relay"), { mode: 0o700 });
    await writeFile(join(project, ".jetstream-relay", "admin-token.json"), JSON.stringify({ token: TOKEN, urls: [relay.url] }), { mode: 0o600 });
    await writeFile(join(project, "jetstream-relay.json"), JSON.stringify({ name: "x", wranglerConfig: "w", url: relay.url }));
    const viaLocalFile = await runCli(["reconnect", "--json"], { cwd: project });
    expect(viaLocalFile.code).toBe(0);
    expect(JSON.parse(viaLocalFile.stdout).state).toBe("connecting");

    await writeFile(join(project, ".admin-token"), `${TOKEN}\n`, { mode: 0o600 });
    const viaTokenFile = await runCli(["reconnect", "--url", relay.url, "--token-file", join(project, ".admin-token")], { cwd: tmpdir() });
    expect(viaTokenFile.code).toBe(0);

    for (const result of [fromEnv, viaLocalFile, viaTokenFile]) {
      expect(result.stdout + result.stderr).not.toContain(TOKEN);
    }
    expect(relay.requests.filter((r) => r.path === "/reconnect").every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    await rm(join(project, "jetstream-relay.json"), { force: true });
    await rm(join(project, ".jetstream-relay"), { recursive: true, force: true });
  });

  it("a broken project file is reported when it is needed, and ignored when flags and environment say everything", async () => {
    relay.set({ "GET /stats": { json: sampleStats() } });
    await writeFile(join(project, "jetstream-relay.json"), "{ not json");
    try {
      const needed = await runCli(["stats"], { cwd: project });
      expect(needed.code).toBe(1);
      expect(needed.stderr).toContain("cannot read jetstream-relay.json");
      const notNeeded = await runCli(["stats", "--json", "--url", relay.url], { cwd: project });
      expect(notNeeded.code).toBe(0);
    } finally {
      await rm(join(project, "jetstream-relay.json"), { force: true });
    }
  });

  it("a token file that cannot be read is reported with its path (exit 2)", async () => {
    const result = await runCli(["reconnect", "--url", relay.url, "--token-file", join(project, "missing-token")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("missing-token");
    expect(relay.requests).toHaveLength(0);
  });
});

describe("clear errors with a hint", () => {
  it("unreachable host: exit 1, says connection refused and where the URL came from", async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const result = await runCli(["stats"], { env: { JETSTREAM_RELAY_URL: url } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`cannot reach the relay at ${url}: connection refused`);
    expect(result.stderr).toMatch(/hint: .*from JETSTREAM_RELAY_URL/);
    expect(result.stdout).toBe("");
  });

  it("401 on a control route: exit 4, the server's message, and a hint about the token", async () => {
    relay.set({ "POST /reset": { status: 401, json: { error: "This route needs `Authorization: Bearer <ADMIN_TOKEN>`.", code: "unauthorized" } } });
    const missing = await runCli(["reset", "--yes", "--url", relay.url]);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain("the relay refused POST /reset (401");
    expect(missing.stderr).toContain("needs `Authorization: Bearer");
    expect(missing.stderr).toMatch(/hint: no admin token was found.*JETSTREAM_RELAY_TOKEN/);

    const wrong = await runCli(["reset", "--yes", "--url", relay.url], { env: { JETSTREAM_RELAY_TOKEN: "wrong-token-123" } });
    expect(wrong.code).toBe(4);
    expect(wrong.stderr).toMatch(/hint: the token from JETSTREAM_RELAY_TOKEN is not the relay's ADMIN_TOKEN/);
    expect(wrong.stderr).not.toContain("wrong-token-123");
  });

  it("403 (no ADMIN_TOKEN on the relay): exit 4 with the relay's explanation", async () => {
    relay.set({ "GET /dlq": { status: 403, json: { error: "Control routes are disabled because ADMIN_TOKEN is not set.", code: "admin-token-not-set" } } });
    const result = await runCli(["dlq", "list", "--url", relay.url, "--json"], { env: { JETSTREAM_RELAY_TOKEN: TOKEN } });
    expect(result.code).toBe(4);
    expect(result.stderr).toContain("ADMIN_TOKEN is not set");
    // The relay's own token is the problem, not the one sent.
    expect(result.stderr).toMatch(/hint: the relay itself has no usable ADMIN_TOKEN/);
    expect(result.stderr).not.toContain("is not the relay's ADMIN_TOKEN");
  });

  it("401 on a read route (protected read routes) is exit 4 too, also under --watch", async () => {
    relay.set({ "GET /status": { status: 401, json: { error: "This route needs a token" } } });
    const result = await runCli(["status", "--watch", "--interval", "0.2", "--url", relay.url]);
    expect(result.code).toBe(4);
    expect(relay.requests.filter((r) => r.path === "/status")).toHaveLength(1);
  });

  it("404: not a relay", async () => {
    const result = await runCli(["health", "--url", `${relay.url}/some/path`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("not a relay: GET /health");
    expect(result.stderr).toContain("404");
    expect(result.stderr).toContain("hint: check the relay URL");
  });

  it("5xx: the relay failed, with its message", async () => {
    relay.set({ "GET /stats": { status: 500, json: { error: "The relay object failed to give its statistics: boom", code: "object-failed" } } });
    const result = await runCli(["stats", "--url", relay.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the relay failed: GET /stats answered 500");
    expect(result.stderr).toContain("boom");
  });

  it("a server that hangs: --timeout gives up with exit 1", async () => {
    relay.set({ "GET /status": { hang: true } });
    const started = Date.now();
    const result = await runCli(["status", "--url", relay.url, "--timeout", "0.5"]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("no answer from");
    expect(result.stderr).toContain("within 0.5s");
    expect(result.stderr).toContain("--timeout");
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it("malformed JSON, and JSON that is not a relay's, are reported as not a relay", async () => {
    relay.set({ "GET /stats": { text: "<html><body>Welcome to nginx</body></html>" } });
    const html = await runCli(["stats", "--url", relay.url]);
    expect(html.code).toBe(1);
    expect(html.stderr).toContain("not a relay");
    expect(html.stderr).toContain("not JSON");

    relay.set({ "GET /stats": { json: { hello: "world" } } });
    const other = await runCli(["stats", "--url", relay.url]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("not a jetstream-relay answer");
  });

  it("a 503 without a health report (a platform error page) is a failure, not a verdict (exit 1, not 3)", async () => {
    relay.set({ "GET /health": { status: 503, text: "<html>Service Unavailable</html>" } });
    const result = await runCli(["health", "--url", relay.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the relay failed: GET /health answered 503");
  });

  it("a redirect is not followed (the token would go elsewhere): exit 1 naming the target", async () => {
    relay.set({ "GET /status": { status: 301, json: {} } });
    const result = await runCli(["status", "--url", relay.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("redirects");
  });

  it("a relay answering 400 shows its message (exit 1)", async () => {
    relay.set({ "POST /dlq/replay": { status: 400, json: { error: 'Every id in "ids" must be a non-empty string.' } } });
    const result = await runCli(["dlq", "replay", "x", "--url", relay.url]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("rejected POST /dlq/replay (400");
    expect(result.stderr).toContain("non-empty string");
  });
});

// Side by side: none of them may send a request, so the shared log stays empty throughout.
describe.concurrent("usage errors exit 2", () => {
  it.each([
    [["stats", "--interval", "0"]],
    [["stats", "--bogus"]],
    [["status", "--count", "-1"]],
    [["dlq", "list", "--limit", "5000"]],
    [["dlq", "replay"]],
    [["dlq", "purge", "a", "--all"]],
    [["no-such-command"]],
  ])("jetstream-relay %j", async (args) => {
    const result = await runCli(args, { env: { JETSTREAM_RELAY_URL: relay.url } });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error/);
    expect(relay.requests).toHaveLength(0);
  });
});
