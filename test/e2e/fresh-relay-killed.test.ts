// A fresh relay (nothing saved yet) is killed (SIGKILL) half a second after its first events reached the
// webhook, while events stream live at a few hundred per second, and is started again with the same
// storage. Whatever was published before, during and after the kill must reach the webhook: the relay
// must have saved where it stands as soon as it stood anywhere, not only on its alarm.
// JETSTREAM_ALARM_SECONDS=60: the alarm (which also saves the state) cannot have run before the kill.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mixedEvents } from "../support/event-mix.ts";
import { expectedTimes, type Rig, startRig, tally, waitFor, waitForConnected } from "../support/relay-rig.ts";

/** Publishes events on instance "a" as they happen: a batch every 20 ms (~300 events/s), time_us increasing. */
function liveStream(rig: Rig) {
  const published: string[] = [];
  let stopped = false;
  let lastUs = 0;
  const done = (async () => {
    while (!stopped) {
      const startUs = Math.max(Date.now() * 1000, lastUs + 100);
      const events = mixedEvents({ count: 6, startUs, stepUs: 100, salt: 3, offset: published.length });
      lastUs = startUs + 500;
      await rig.append("a", events);
      published.push(...events);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    published,
    stop: async () => {
      stopped = true;
      await done;
    },
  };
}

describe("fresh relay killed right after its first events", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ vars: { JETSTREAM_ALARM_SECONDS: "60" } });
  });
  afterAll(async () => {
    await rig?.close();
  });

  it("loses nothing published before, during or after the kill", async () => {
    const stream = liveStream(rig);
    try {
      await waitFor("the first events at the webhook", async () => (await rig.acknowledged()).size > 0, 60_000, 50);
      await new Promise((resolve) => setTimeout(resolve, 500)); // the scenario: half a second into the stream
      await rig.restart("kill");
      await waitForConnected(rig);
      const afterRestart = stream.published.length;
      await waitFor("events published after the restart", async () => stream.published.length >= afterRestart + 300, 60_000, 100);
    } finally {
      await stream.stop();
    }
    const all = stream.published;
    const expected = expectedTimes(all);
    const counts = await rig.waitForAll(all, "every event at the webhook", 90_000).catch(() => rig.acknowledged());
    const { missing } = tally(counts, expected);
    expect(missing.length, `${missing.length} of ${expected.length} events never reached the webhook (from ${missing[0]} to ${missing.at(-1)})`).toBe(0);
  });
});
