// What the consumer reads of a webhook's error answer: a few hundred bytes, never the whole body (a
// receiver could answer with an endless one), and what it shows of it: nothing on the public statistics
// (the report's lastError), the start of it in the dead letter (admin routes only).
import { describe, expect, it } from "vitest";
import { ERROR_BODY_LIMIT_BYTES } from "../../worker/delivery/read-body-head.ts";
import { commitEvent, deadLetterPage, messageBody, queued, receiver, recordingPorts, runBatch, testEnv, uniqueDid, uniquePath } from "./delivery-support.ts";
import { countingBody } from "./counting-body.ts";

describe("a webhook's error answer", () => {
  it("is read only up to its bound, the rest cancelled", async () => {
    const body = countingBody(50 * 1024 * 1024);
    const recorder = recordingPorts({ fetch: async () => new Response(body.stream, { status: 500 }) });
    const path = uniquePath();
    const { report } = await runBatch([messageBody([queued(commitEvent(uniqueDid(), "1"))])], testEnv(path), recorder.ports);
    expect(report.retried).toBe(1);
    expect(body.seen.pulled).toBeLessThanOrEqual(64 * 1024);
    expect(body.seen.cancelled).toBe(true);
  });

  it("keeps its start in the dead letter only; the report (public statistics) names the status", async () => {
    const path = uniquePath();
    const long = `refused: ${"y".repeat(5000)}`;
    await receiver.rule({ path, action: "respond", status: 422, body: long });
    const recorder = recordingPorts();
    const { report } = await runBatch([messageBody([queued(commitEvent(uniqueDid(), "1"))])], testEnv(path), recorder.ports);
    expect(report.lastError?.message).toBe("webhook answered HTTP 422");
    const page = await deadLetterPage(recorder.store);
    const error = page.events[0].error;
    expect(error.startsWith("webhook answered HTTP 422: refused: yyy")).toBe(true);
    expect(error.length).toBeLessThanOrEqual("webhook answered HTTP 422: ".length + ERROR_BODY_LIMIT_BYTES);
  });
});
