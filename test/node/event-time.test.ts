/** The bench's time reader: legacy `time_us`, and a v2 payload's `time` after its `seq`. */
import { describe, expect, it } from "vitest";
import { timesOf } from "../../bench/event-time.ts";

const legacy = (t: number) => `{"did":"did:plc:a","time_us":${t},"kind":"commit","commit":{"rev":"r","operation":"create","collection":"app.bsky.feed.post","rkey":"k","record":{"createdAt":"x"},"cid":"c"}}`;
const payload = (time: string, seq: number) => `{"$type":"network.bsky.jetstream.subscribeEvents#commit","cid":"c","collection":"app.bsky.feed.post","did":"did:plc:a","operation":"create","record":{"time":"not this"},"rev":"r","rkey":"k","seq":${seq},"time":"${time}"}`;

describe("bench event times", () => {
  it("reads legacy events and arrays of them", () => {
    expect(timesOf(legacy(1_725_911_162_329_308))).toEqual([1_725_911_162_329_308]);
    expect(timesOf(`[${legacy(1)},${legacy(2)}]`)).toEqual([1, 2]);
  });

  it("reads v2 payloads and arrays of them by their own time, to the microsecond", () => {
    const us = Date.parse("2024-09-09T19:46:02Z") * 1000 + 329_308;
    expect(timesOf(payload("2024-09-09T19:46:02.329308Z", 7))).toEqual([us]);
    expect(timesOf(`[${payload("2024-09-09T19:46:02.329308Z", 7)},${payload("2024-09-09T19:46:02.000001Z", 8)}]`)).toEqual([us, us - 329_307]);
    expect(timesOf("{}")).toEqual([]);
  });
});
