// Replays of dead letters as jobs: a real dead-letter store whose queue binding records what it is sent
// (the store's alarm runs the job in the background, as deployed).
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { DeadLetterReplayAnswer, DeadLetterReplayJob, QueuedEvent, WholeEventsBody } from "../../worker/contract.ts";
import type { DeadLetterInput } from "../../worker/delivery/dead-letter-store.ts";
import { eventId } from "../../worker/delivery/event-id.ts";
import { commitEvent, deadLetterPage, eventually, replayJob, uniqueDid } from "./delivery-support.ts";

const letter = (raw: string): DeadLetterInput => ({ id: eventId(raw), raw, error: "webhook answered HTTP 500", attempts: 10, failedAt: Date.now() });

/** A fresh store whose queue records every event it is sent; `onSend` runs inside the object before each send. */
async function tappedStore(onSend: (call: number, store: { add(entries: DeadLetterInput[]): Promise<void> }) => Promise<void> | void = () => {}) {
  const store = env.DEAD_LETTERS.getByName(`test-${crypto.randomUUID()}`);
  const sent: QueuedEvent[] = [];
  let calls = 0;
  await runInDurableObject(store, (instance) => {
    const own = instance as unknown as { env: Record<string, unknown>; add(entries: DeadLetterInput[]): Promise<void> };
    own.env = {
      ...own.env,
      EVENTS: {
        sendBatch: async (messages: { body: WholeEventsBody }[]) => {
          await onSend(++calls, own);
          sent.push(...messages.flatMap((m) => m.body.events));
        },
      },
    };
  });
  return { store, sent, calls: () => calls };
}

const start = async (store: { startReplay(request: never): Promise<unknown> }, request: object) => (await store.startReplay(request as never)) as DeadLetterReplayAnswer;

describe("dead-letter replay jobs", () => {
  it("a retried request for the same job, or the same rows, sends nothing twice", async () => {
    const { store, sent } = await tappedStore();
    const raws = Array.from({ length: 3 }, (_, i) => commitEvent(uniqueDid(), `k${i}`));
    await store.add(raws.map(letter));
    const first = await start(store, { all: true, job: "job-a" });
    expect(first).toMatchObject({ attached: false, job: { id: "job-a", state: "running", total: 3, selection: "all" } });
    // The CLI retried its request (a timeout): the same job answers.
    expect(await start(store, { all: true, job: "job-a" })).toMatchObject({ attached: true, job: { id: "job-a" } });
    const done = await replayJob(store, { job: "job-a" });
    expect(done).toMatchObject({ state: "done", sent: 3, skipped: 0, progress: 1 });
    // An operator runs it again while the events are on their way: they are not sent again.
    const second = await replayJob(store, { all: true });
    expect(second).toMatchObject({ state: "done", total: 3, sent: 0, skipped: 3 });
    const byIds = await replayJob(store, { ids: [eventId(raws[0])] });
    expect(byIds).toMatchObject({ sent: 0, skipped: 1 });
    expect(sent.map((e) => e.raw)).toEqual(raws);
    expect((await store.listReplays()).map((j) => (j as DeadLetterReplayJob).state)).toEqual(["done", "done", "done"]);
  });

  it("rows re-added while the job runs (events that failed again) are not sent again by it", async () => {
    const raws = Array.from({ length: 4 }, (_, i) => commitEvent(uniqueDid(), `r${i}`));
    const { store, sent, calls } = await tappedStore(async (call, own) => {
      // The webhook refused the first event again at once: the consumer put it back (a new row).
      if (call === 1) await own.add([{ ...letter(raws[0]), error: "webhook answered HTTP 410" }]);
    });
    await store.add(raws.map(letter));
    const job = await replayJob(store, { all: true });
    expect(job).toMatchObject({ state: "done", total: 4, sent: 4 });
    expect(calls()).toBe(1);
    expect(sent.map((e) => e.raw)).toEqual(raws);
    const back = (await deadLetterPage(store)).events.find((e) => e.id === eventId(raws[0]));
    expect(back).toMatchObject({ error: "webhook answered HTTP 410" });
    expect(back?.replaying).toBeUndefined();
  });

  it("while one job runs, the same selection attaches to it and another is refused", async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { store, sent } = await tappedStore(() => gate);
    const raws = Array.from({ length: 2 }, (_, i) => commitEvent(uniqueDid(), `g${i}`));
    await store.add(raws.map(letter));
    const first = await start(store, { all: true });
    await eventually(async () => (sent.length === 0 && ((await store.getReplay(first.job.id)) as DeadLetterReplayJob).state === "running" ? true : undefined));
    expect(await start(store, { all: true })).toMatchObject({ attached: true, job: { id: first.job.id } });
    const refused = await store.startReplay({ ids: [eventId(raws[1])] }).then(
      () => "started",
      (error: Error) => error.message,
    );
    expect(refused).toMatch(new RegExp(`refused: the replay job ${first.job.id} is running.*--attach ${first.job.id}`));
    release();
    expect(await replayJob(store, { job: first.job.id })).toMatchObject({ state: "done", sent: 2 });
    expect(sent).toHaveLength(2);
  });

  it("a job the queue refused fails, says why, and resumes where it stopped when posted again", async () => {
    let refuse = true;
    const { store, sent } = await tappedStore(() => {
      if (refuse) throw new Error("Queue send failed: too many requests");
    });
    const raws = Array.from({ length: 2 }, (_, i) => commitEvent(uniqueDid(), `f${i}`));
    await store.add(raws.map(letter));
    const failed = await replayJob(store, { all: true, job: "job-f" });
    expect(failed).toMatchObject({ state: "failed", sent: 0, error: expect.stringContaining("too many requests") });
    expect((await deadLetterPage(store)).events.every((e) => !e.replaying)).toBe(true);
    refuse = false;
    const resumed = await start(store, { job: "job-f" });
    expect(resumed).toMatchObject({ attached: true, job: { id: "job-f", state: "running" } });
    expect(await replayJob(store, { job: "job-f" })).toMatchObject({ state: "done", sent: 2, error: null });
    expect(sent.map((e) => e.raw)).toEqual(raws);
    const unknown = await store.startReplay({ job: "job-none" }).then(
      () => "started",
      (error: Error) => error.message,
    );
    expect(unknown).toMatch(/no replay job "job-none"/);
  });
});
