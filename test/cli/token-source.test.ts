// Where the CLI takes the admin token from, and where it sends it (issue 15 item 2): never from where a
// project file points, only over https or to this machine, only to the relay the local token file is
// bound to. Runs the real CLI against local HTTP servers that record the Authorization header, and the
// real init and deploy (wrangler against the fake Cloudflare API) for the normal path.
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, test } from "vitest";
import { isLoopback, transportProblem } from "../../cli/lib/target.ts";
import { cloudflareEnv } from "../support/cloudflare-env.ts";
import { type FakeCloudflareApi, startFakeCloudflareApi } from "../support/fake-cloudflare-api.ts";
import { ensureBundle } from "./support/bundle.ts";
import { type FakeRelay, sampleStats, startFakeRelay } from "./support/fake-relay.ts";
import { runCli } from "./support/run-cli.ts";

const SECRET = "local-secret-the-project-file-points-at-9f3k";
const TOKEN = "admin-token-of-the-right-relay-4c7d1e";
let relay: FakeRelay;

const reconnectRoute = { "POST /reconnect": { json: { state: "connecting", cursor: 1 } } };
const sentSecrets = () => relay.requests.filter((r) => r.authorization !== undefined && r.authorization !== `Bearer ${TOKEN}`);

beforeAll(async () => {
  ensureBundle();
  relay = await startFakeRelay({ ...reconnectRoute, "GET /stats": { json: sampleStats() } });
});
afterAll(async () => {
  await relay.close();
});
afterEach(() => {
  relay.requests.length = 0;
});

const folder = () => mkdtemp(join(tmpdir(), "jr-token-"));
const writeProject = (dir: string, value: unknown) => writeFile(join(dir, "jetstream-relay.json"), JSON.stringify(value));
async function writeTokenFile(dir: string, content: string, mode = 0o600): Promise<string> {
  await mkdir(join(dir, ".jetstream-relay"), { recursive: true, mode: 0o700 });
  const path = join(dir, ".jetstream-relay", "admin-token.json");
  await writeFile(path, content);
  await chmod(path, mode);
  return path;
}

describe("a project file names no secret source", () => {
  it.each([
    ["an environment variable", { adminToken: { env: "HOSTILE_SECRET" } }],
    ["an absolute file", { adminToken: { file: "SECRET_FILE" } }],
    ["a relative file", { adminToken: { file: "../secret.txt" } }],
    ["another key", { tokenFile: "SECRET_FILE" }],
  ])("one pointing at %s is refused: nothing read, nothing sent, the cause and the fix named", async (_, pointer) => {
    const dir = await folder();
    const secretFile = join(dir, "..", `jr-secret-${process.pid}.txt`);
    await writeFile(secretFile, `${SECRET}\n`, { mode: 0o600 });
    await writeFile(join(dir, "..", "secret.txt"), `${SECRET}\n`).catch(() => {});
    const raw = JSON.parse(JSON.stringify(pointer).replace("SECRET_FILE", secretFile.replace(/\\/g, "\\\\")));
    await writeProject(dir, { name: "x", wranglerConfig: "wrangler.jsonc", url: relay.url, ...raw });
    try {
      for (const command of [["reconnect"], ["stats", "--json"]]) {
        const result = await runCli(command, { cwd: dir, env: { HOSTILE_SECRET: SECRET } });
        expect(result.code, result.stderr).toBe(2);
        expect(result.stderr).toContain(`jetstream-relay.json names a secret or where to find one (${JSON.stringify(Object.keys(raw)[0])})`);
        expect(result.stderr).toMatch(/hint: .*delete .* from .*jetstream-relay\.json/);
        expect(result.stdout + result.stderr).not.toContain(SECRET);
      }
      // With the URL given, the project file is not even read, and its pointer is not followed.
      const withUrl = await runCli(["reconnect", "--url", relay.url], { cwd: dir, env: { HOSTILE_SECRET: SECRET } });
      expect(withUrl.stdout + withUrl.stderr).not.toContain(SECRET);
      expect(relay.requests.every((r) => r.authorization === undefined)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(secretFile, { force: true });
    }
  });

  test("jetstream-relay.json from an earlier version (an adminToken pointer): deploy and dev refuse too, init rewrites it without", async () => {
    const dir = await folder();
    await writeProject(dir, { name: "x", wranglerConfig: "wrangler.jsonc", adminToken: { file: ".jetstream-relay/admin-token" } });
    for (const command of [["deploy", "--no-wait"], ["dev", "--port", "0"]]) {
      const result = await runCli(command, { cwd: dir, env: { JETSTREAM_RELAY_URL: relay.url } });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain('names a secret or where to find one ("adminToken")');
    }
    await rm(dir, { recursive: true, force: true });
  });
});

describe("the token goes over https or to this machine only", () => {
  let server: Server;
  let lanUrl: string | null = null;
  const seen: (string | undefined)[] = [];

  beforeAll(async () => {
    const lan = Object.values(networkInterfaces())
      .flat()
      .find((a) => a && a.family === "IPv4" && !a.internal);
    server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(req.url === "/stats" ? sampleStats() : { state: "connecting", cursor: 1 }));
    });
    await new Promise<void>((resolve) => server.listen(0, "0.0.0.0", resolve));
    if (lan) lanUrl = `http://${lan.address}:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("plain http:// to another machine is refused before anything is sent (a read without a token still works)", async (context) => {
    if (!lanUrl) return context.skip("this machine has no non-loopback IPv4 address");
    const read = await runCli(["stats", "--json", "--url", lanUrl]);
    expect(read.code, read.stderr).toBe(0); // the server is reachable: the refusal below is the rule's
    expect(seen).toEqual([undefined]);

    for (const [args, env] of [
      [["reconnect", "--url", lanUrl], { JETSTREAM_RELAY_TOKEN: TOKEN }],
      [["stats", "--json"], { JETSTREAM_RELAY_URL: lanUrl, JETSTREAM_RELAY_TOKEN: TOKEN }],
    ] as const) {
      const result = await runCli([...args], { env });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`not sending the admin token (from JETSTREAM_RELAY_TOKEN) to ${lanUrl}: plain http://`);
      expect(result.stderr).toMatch(/hint: use the relay's https:\/\/ URL/);
    }
    expect(seen).toEqual([undefined]);
  });

  it("loopback and https are accepted, other plain http is not", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST.", "[::1]"]) expect(isLoopback(host)).toBe(true);
    for (const host of ["10.0.0.1", "relay.example.com", "localhost.example.com", "[::2]", "127.0.0.1.nip.io"]) expect(isLoopback(host)).toBe(false);
    expect(transportProblem("https://relay.example.com")).toBeNull();
    expect(transportProblem("http://[::1]:8787")).toBeNull();
    expect(transportProblem("http://relay.example.com")).toMatch(/plain http/);
  });
});

describe("the local token file goes to the relay it is bound to", () => {
  it("bound to another relay: refused, naming both URLs; nothing sent", async () => {
    const dir = await folder();
    await writeTokenFile(dir, JSON.stringify({ token: TOKEN, urls: ["https://other-relay.example.workers.dev"] }));
    for (const env of [{ JETSTREAM_RELAY_URL: relay.url }, {}]) {
      const args = "JETSTREAM_RELAY_URL" in env ? ["reconnect"] : ["reconnect", "--url", relay.url];
      const result = await runCli(args, { cwd: dir, env });
      expect(result.code, result.stderr).toBe(2);
      expect(result.stderr).toContain(`the admin token in .jetstream-relay/admin-token.json belongs to https://other-relay.example.workers.dev, not to ${relay.url}: not sent`);
      expect(result.stderr).toMatch(/hint: for .* set JETSTREAM_RELAY_TOKEN or pass --token-file/);
    }
    expect(relay.requests).toEqual([]);
    // The operator's own token for this relay still works there.
    const own = await runCli(["reconnect", "--url", relay.url], { cwd: dir, env: { JETSTREAM_RELAY_TOKEN: TOKEN } });
    expect(own.code, own.stderr).toBe(0);
    await rm(dir, { recursive: true, force: true });
  });

  it("bound to no relay yet (before deploy, or an earlier version's bare token file): refused with the way to bind it", async () => {
    const dir = await folder();
    await writeTokenFile(dir, JSON.stringify({ token: TOKEN, urls: [] }));
    const unbound = await runCli(["reconnect", "--url", relay.url], { cwd: dir });
    expect(unbound.code).toBe(2);
    expect(unbound.stderr).toContain("the admin token in .jetstream-relay/admin-token.json is bound to no relay yet: not sent");
    expect(unbound.stderr).toMatch(/hint: run `jetstream-relay deploy`/);

    await rm(join(dir, ".jetstream-relay", "admin-token.json"));
    await writeFile(join(dir, ".jetstream-relay", "admin-token"), `${TOKEN}\n`, { mode: 0o600 });
    const legacy = await runCli(["reconnect", "--url", relay.url], { cwd: dir });
    expect(legacy.code).toBe(2);
    expect(legacy.stderr).toContain("the admin token in .jetstream-relay/admin-token is bound to no relay yet: not sent");
    expect(relay.requests).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });

  it("a token file others can read, a link, or a broken one is refused without showing its content", async () => {
    const dir = await folder();
    const path = await writeTokenFile(dir, JSON.stringify({ token: TOKEN, urls: [relay.url] }), 0o644);
    const open = await runCli(["reconnect", "--url", relay.url], { cwd: dir });
    expect(open.code).toBe(2);
    expect(open.stderr).toContain("is not private (mode 644)");
    expect(open.stderr).toContain(`chmod 600 ${path}`);

    await writeFile(join(dir, "elsewhere"), JSON.stringify({ token: SECRET, urls: [relay.url] }), { mode: 0o600 });
    await rm(path);
    const { symlink } = await import("node:fs/promises");
    await symlink(join(dir, "elsewhere"), path);
    const linked = await runCli(["reconnect", "--url", relay.url], { cwd: dir });
    expect(linked.code).toBe(2);
    expect(linked.stderr).toContain("is not a plain file (a symbolic link)");

    await rm(path);
    await writeTokenFile(dir, `${SECRET} is not JSON`);
    const broken = await runCli(["reconnect", "--url", relay.url], { cwd: dir });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(".jetstream-relay/admin-token.json is not an admin token file of jetstream-relay");
    for (const result of [open, linked, broken]) expect(result.stdout + result.stderr).not.toContain(SECRET);
    expect(relay.requests).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });

  it("a token from the environment or --token-file goes to a URL only the project file names only when this machine's token file vouches for it", async () => {
    const dir = await folder();
    await writeProject(dir, { name: "x", wranglerConfig: "wrangler.jsonc", url: relay.url });
    const refused = await runCli(["reconnect"], { cwd: dir, env: { JETSTREAM_RELAY_TOKEN: TOKEN } });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`the admin token from JETSTREAM_RELAY_TOKEN would go to ${relay.url}, which only jetstream-relay.json names: not sent`);
    expect(refused.stderr).toMatch(/hint: .*--url or JETSTREAM_RELAY_URL/);
    expect(relay.requests).toEqual([]);
    // Reads need no token and still follow the project file.
    expect((await runCli(["stats", "--json"], { cwd: dir })).code).toBe(0);
    // Saying which relay the token is for makes it go.
    const said = await runCli(["reconnect"], { cwd: dir, env: { JETSTREAM_RELAY_TOKEN: TOKEN, JETSTREAM_RELAY_URL: relay.url } });
    expect(said.code, said.stderr).toBe(0);
    // So does a local token file bound to the project's URL.
    await writeTokenFile(dir, JSON.stringify({ token: "another-token", urls: [relay.url] }));
    const vouched = await runCli(["reconnect"], { cwd: dir, env: { JETSTREAM_RELAY_TOKEN: TOKEN } });
    expect(vouched.code, vouched.stderr).toBe(0);
    expect(relay.requests.map((r) => r.authorization)).toEqual([undefined, `Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
    await rm(dir, { recursive: true, force: true });
  });

  it("--token-file takes a bare token, not init's bound file", async () => {
    const dir = await folder();
    const path = await writeTokenFile(dir, JSON.stringify({ token: TOKEN, urls: ["https://other-relay.example.workers.dev"] }));
    const result = await runCli(["reconnect", "--url", relay.url, "--token-file", path], { cwd: tmpdir() });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("holds JSON, not a bare token");
    expect(relay.requests).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });
});

describe("the normal paths", () => {
  let api: FakeCloudflareApi;
  let env: Record<string, string>;
  beforeAll(async () => {
    api = await startFakeCloudflareApi({ subdomain: "token-tests" });
    env = await cloudflareEnv(api);
  });
  afterAll(async () => {
    await api?.close();
  });

  test("init keeps the token (0600, bound to nothing), deploy binds it to its URLs, the operate commands send it there", async () => {
    const dir = await folder();
    const init = await runCli(["init", "--yes", "--name", "token-relay", "--webhook-url", "https://hooks.example.com/in"], { cwd: dir, env, timeoutMs: 120_000 });
    expect(init.code, init.stderr).toBe(0);
    const adminToken = api.scripts.get("token-relay")!.secrets.get("ADMIN_TOKEN")!;
    const file = join(dir, ".jetstream-relay", "admin-token.json");
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ token: adminToken, urls: [] });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(dir, "jetstream-relay.json"), "utf8"))).toEqual({ name: "token-relay", wranglerConfig: "wrangler.jsonc" });

    // A relay on a route of its own (here: the local recording server) is named by JETSTREAM_RELAY_URL at deploy.
    const deploy = await runCli(["deploy", "--no-wait"], { cwd: dir, env: { ...env, JETSTREAM_RELAY_URL: relay.url }, timeoutMs: 120_000 });
    expect(deploy.code, deploy.stderr).toBe(0);
    const workersDev = "https://token-relay.token-tests.workers.dev";
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ token: adminToken, urls: [workersDev, relay.url] });
    expect(deploy.stderr).toContain(`the admin token in .jetstream-relay/admin-token.json is for ${workersDev}, ${relay.url}`);

    const reconnect = await runCli(["reconnect", "--json"], { cwd: dir, env: { JETSTREAM_RELAY_URL: relay.url } });
    expect(reconnect.code, reconnect.stderr).toBe(0);
    expect(relay.requests.map((r) => [r.path, r.authorization])).toEqual([["/reconnect", `Bearer ${adminToken}`]]);
    expect(reconnect.stdout + reconnect.stderr).not.toContain(adminToken);

    // A re-run of init keeps the token and its binding.
    const again = await runCli(["init", "--yes", "--webhook-url", "https://hooks.example.com/in"], { cwd: dir, env, timeoutMs: 120_000 });
    expect(again.code, again.stderr).toBe(0);
    expect(JSON.parse(await readFile(file, "utf8"))).toEqual({ token: adminToken, urls: [workersDev, relay.url] });
    await rm(dir, { recursive: true, force: true });
  });

  test("init migrates an earlier version's project: the pointer goes, the bare token file becomes the bound one", async () => {
    const dir = await folder();
    await writeProject(dir, { name: "old-relay", wranglerConfig: "wrangler.jsonc", adminToken: { file: ".jetstream-relay/admin-token" } });
    await mkdir(join(dir, ".jetstream-relay"), { mode: 0o700 });
    await writeFile(join(dir, ".jetstream-relay", "admin-token"), `${TOKEN}\n`, { mode: 0o600 });
    const init = await runCli(["init", "--yes", "--webhook-url", "https://hooks.example.com/in"], { cwd: dir, env, timeoutMs: 120_000 });
    expect(init.code, init.stderr).toBe(0);
    expect(api.scripts.get("old-relay")!.secrets.get("ADMIN_TOKEN")).toBe(TOKEN);
    expect(JSON.parse(await readFile(join(dir, "jetstream-relay.json"), "utf8"))).toEqual({ name: "old-relay", wranglerConfig: "wrangler.jsonc" });
    expect(JSON.parse(await readFile(join(dir, ".jetstream-relay", "admin-token.json"), "utf8"))).toEqual({ token: TOKEN, urls: [] });
    await expect(stat(join(dir, ".jetstream-relay", "admin-token"))).rejects.toThrow(/ENOENT/);
    await rm(dir, { recursive: true, force: true });
  });

  test("JETSTREAM_RELAY_TOKEN and --token-file still work with --url", async () => {
    const dir = await folder();
    await writeFile(join(dir, "token"), `${TOKEN}\n`, { mode: 0o600 });
    const fromEnv = await runCli(["reconnect", "--url", relay.url], { cwd: dir, env: { JETSTREAM_RELAY_TOKEN: TOKEN } });
    const fromFile = await runCli(["reconnect", "--url", relay.url, "--token-file", join(dir, "token")], { cwd: dir });
    expect([fromEnv.code, fromFile.code]).toEqual([0, 0]);
    expect(relay.requests.map((r) => r.authorization)).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
    expect(sentSecrets()).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });
});
