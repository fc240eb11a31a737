// The receiver example in docs/webhook.md, run as written: it accepts what the relay's own signer signs,
// refuses a wrong signature or an old timestamp, and handles each webhook-id once (batch mode included).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createSigner, type Signer } from "../../worker/delivery/signing.ts";
import { waitFor } from "../support/wait.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const SECRET = `whsec_${Buffer.from("a secret of the receiver example, 32b").toString("base64")}`;

function example(): string {
  const page = readFileSync(join(ROOT, "docs/webhook.md"), "utf8");
  const section = page.slice(page.indexOf("## A receiver"));
  const code = section.match(/```js\n([\s\S]*?)```/)?.[1];
  if (!code) throw new Error("docs/webhook.md: no ```js block under \"## A receiver\"");
  return code;
}

let dir: string;
let child: ChildProcess;
let stdout = "";
let url: string;
let sign: Signer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "receiver-example-"));
  writeFileSync(join(dir, "receiver.mjs"), example());
  child = spawn(process.execPath, [join(dir, "receiver.mjs")], { env: { ...process.env, WEBHOOK_SECRET: SECRET, PORT: "0" }, stdio: ["ignore", "pipe", "inherit"] });
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  const port = await waitFor("the example to listen", async () => stdout.match(/listening on port (\d+)/)?.[1], 30_000, 50);
  url = `http://127.0.0.1:${port}/`;
  sign = await createSigner(new Uint8Array(Buffer.from(SECRET.slice("whsec_".length), "base64")));
});

afterAll(() => {
  child?.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function post(body: string, headers: Record<string, string>, signed = true): Promise<number> {
  const timestamp = headers["webhook-timestamp"] ?? String(Math.floor(Date.now() / 1000));
  const signature = signed ? await sign(headers["webhook-id"], Number(timestamp), body) : "v1,AAAA";
  const response = await fetch(url, { method: "POST", body, headers: { "content-type": "application/json", "webhook-timestamp": timestamp, "webhook-signature": signature, ...headers } });
  return response.status;
}

const event = (rkey: string) => JSON.stringify({ did: "did:plc:abc", time_us: 1, kind: "commit", commit: { operation: "create", collection: "app.bsky.feed.post", rkey } });
const handled = (id: string) => stdout.split("\n").filter((line) => line.startsWith(`${id} `)).length;

test("a signed event is handled once; its redelivery is acknowledged and dropped", async () => {
  expect(await post(event("a"), { "webhook-id": "evt_a" })).toBe(204);
  expect(await post(event("a"), { "webhook-id": "evt_a" })).toBe(204);
  expect(await post(event("b"), { "webhook-id": "evt_b" })).toBe(204);
  await waitFor("evt_b to be printed", async () => handled("evt_b") === 1, 10_000, 20);
  expect(handled("evt_a")).toBe(1);
  expect(stdout).toContain("evt_a commit app.bsky.feed.post");
});

test("a wrong signature, an old timestamp or a body changed after signing is refused (401)", async () => {
  expect(await post(event("c"), { "webhook-id": "evt_c" }, false)).toBe(401);
  const old = String(Math.floor(Date.now() / 1000) - 3600);
  expect(await post(event("c"), { "webhook-id": "evt_c", "webhook-timestamp": old })).toBe(401);
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = await sign("evt_c", Number(timestamp), event("c"));
  const changed = await fetch(url, { method: "POST", body: event("d"), headers: { "webhook-id": "evt_c", "webhook-timestamp": timestamp, "webhook-signature": signature } });
  expect(changed.status).toBe(401);
  expect(handled("evt_c")).toBe(0);
});

test("batch mode: events are dropped one by one by jetstream-relay-event-ids", async () => {
  const body = `[${event("a")},${event("e")}]`;
  expect(await post(body, { "webhook-id": "bat_1", "jetstream-relay-event-ids": "evt_a,evt_e" })).toBe(204);
  await waitFor("evt_e to be printed", async () => handled("evt_e") === 1, 10_000, 20);
  expect(handled("evt_a")).toBe(1);
});
