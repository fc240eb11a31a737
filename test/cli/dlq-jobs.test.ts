// `dlq` against the real worker in wrangler's local runtime: our Jetstream-compatible server sends events
// (small ones and ones near 1.9 MB), our webhook receiver refuses them for good (410) so that they are
// dead-lettered with their full text; then `dlq list`, `dlq show` and `dlq replay` as a job.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DeadLetter, DeadLetterPage, DeadLetterReplayJob } from "../../worker/api-types.ts";
import { startJetstreamTestServer } from "../support/jetstream-test-server.ts";
import { type LocalWorker, startLocalWorker } from "../support/local-worker.ts";
import { startWebhookReceiver } from "../support/webhook-receiver.ts";
import { ensureBundle } from "./support/bundle.ts";
import { runCli } from "./support/run-cli.ts";
import { cliJson as runCliJson, postJson } from "./support/local-relay-io.ts";
import { waitFor } from "../support/wait.ts";

const TOKEN = "cli-dlq-jobs-admin-token-0123456789";
const COLLECTION = "app.bsky.feed.dlqjobtest";
const SMALL = 40;
const LARGE = 3;
const LARGE_BYTES = 1_900_000;

let jetstream: { base: string; close(): Promise<void> };
let webhook: { base: string; close(): Promise<void> };
let worker: LocalWorker;
let env: Record<string, string>;
const raws: string[] = [];

const until = <T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 120_000) => waitFor(what, probe, timeoutMs, 500);

const cliJson = <T>(args: string[]) => runCliJson<T>(args, env, [0]);
const post = (url: string, body: unknown) => postJson(url, body, 30_000).then(() => undefined);

async function received(): Promise<{ body: string; headers: Record<string, string> }[]> {
  const res = await fetch(`${webhook.base}/_control/requests?${new URLSearchParams({ path: "/hook", match: COLLECTION })}`);
  return ((await res.json()) as { requests: { body: string; headers: Record<string, string> }[] }).requests;
}

function event(i: number, nowUs: number, bytes = 0): string {
  const record: Record<string, unknown> = { text: `dead letter ${i}` };
  if (bytes) record.padding = "p".repeat(bytes);
  return JSON.stringify({ did: `did:plc:dlqjobs${String(i).padStart(8, "0")}`, time_us: nowUs + i, kind: "commit", commit: { rev: `3ldlq${i}`, operation: "create", collection: COLLECTION, rkey: `3ldlq${i}`, record, cid: "bafyreidlqjobs" } });
}

beforeAll(async () => {
  ensureBundle();
  jetstream = await startJetstreamTestServer();
  webhook = await startWebhookReceiver();
  await post(`${webhook.base}/_control/rules`, { match: COLLECTION, action: "respond", status: 422, body: "refused for good" });
  worker = await startLocalWorker({
    WEBHOOK_URL: `${webhook.base}/hook`,
    JETSTREAM_URL: `${jetstream.base}/subscribe`,
    JETSTREAM_COLLECTIONS: COLLECTION,
    ADMIN_TOKEN: TOKEN,
    JETSTREAM_STALL_SECONDS: "3600",
  });
  env = { JETSTREAM_RELAY_URL: worker.url, JETSTREAM_RELAY_TOKEN: TOKEN };
  await until("the relay to connect", async () => (await fetch(`${worker.url}/status`).then((r) => r.json() as Promise<{ connected: boolean }>)).connected);
  const nowUs = Date.now() * 1000;
  for (let i = 0; i < SMALL + LARGE; i++) raws.push(event(i, nowUs, i >= SMALL ? LARGE_BYTES - 300 : 0));
  const control = `${jetstream.base.replace("ws://", "http://")}/control/default/append`;
  await post(control, { events: raws });
  await until("every event to be dead-lettered", async () => (await cliJson<DeadLetterPage>(["dlq", "list", "--limit", "1"])).total === raws.length);
}, 240_000);

afterAll(async () => {
  await worker?.dispose();
  await Promise.all([jetstream?.close(), webhook?.close()]);
});

describe("dlq against the real local worker", () => {
  it("list --all follows pages bounded by bytes; show gives an entry near 1.9 MB whole", async () => {
    const first = await cliJson<DeadLetterPage>(["dlq", "list", "--limit", "1000"]);
    expect(first.limitedBy).toBe("bytes");
    expect(first.events.length).toBeLessThan(raws.length);
    const all = await cliJson<DeadLetterPage>(["dlq", "list", "--all"]);
    expect(all.events.map((e) => JSON.stringify(e.event)).sort()).toEqual([...raws].sort());
    const large = all.events.find((e) => JSON.stringify(e.event) === raws[SMALL + 1])!;
    const shown = await cliJson<DeadLetter>(["dlq", "show", large.id]);
    expect(JSON.stringify(shown.event)).toBe(raws[SMALL + 1]);
    expect(shown.stub).toBeUndefined();
    const text = await runCli(["dlq", "show", large.id], { env });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('"text": "dead letter 41"');
  });

  it("replay --all is a job: started detached, followed with --attach, each event sent once; run again it sends nothing twice", async () => {
    // The webhook takes them now (the reset forgets the 410 rule and what it received).
    await fetch(`${webhook.base}/_control/reset`, { method: "POST", body: JSON.stringify({}) });
    expect(await received()).toHaveLength(0);
    const started = await cliJson<{ job: DeadLetterReplayJob }>(["dlq", "replay", "--all", "--detach"]);
    expect(started.job).toMatchObject({ selection: "all", total: raws.length });
    const attached = await runCli(["dlq", "replay", "--attach", started.job.id, "--interval", "0.2"], { env });
    expect(attached.code).toBe(0);
    expect(attached.stdout).toMatch(new RegExp(`job ${started.job.id} \\(all\\): done · ${raws.length} of ${raws.length} sent`));
    expect(attached.stdout).toContain(`${raws.length} dead letters queued for delivery`);
    // Once more at once, while the events are on their way: nothing is sent twice.
    const again = await cliJson<{ job: DeadLetterReplayJob }>(["dlq", "replay", "--all"]);
    expect(again.job).toMatchObject({ state: "done", sent: 0 });
    const latest = await cliJson<{ job: DeadLetterReplayJob }>(["dlq", "replay", "--attach"]);
    expect(latest.job.id).toBe(again.job.id);
    await until("the store to be empty (every replayed event delivered)", async () => (await cliJson<DeadLetterPage>(["dlq", "list", "--limit", "1"])).total === 0);
    const requests = await received();
    expect(requests.map((r) => r.headers["webhook-id"]).sort()).toEqual([...new Set(requests.map((r) => r.headers["webhook-id"]))].sort());
    expect(requests.map((r) => r.body).sort()).toEqual([...raws].sort());
  });
});
