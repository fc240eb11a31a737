// The body of a v2 event (WEBHOOK_EVENT_FORMAT) and its webhook-id, checked against every real fixture
// turned into the v2 payload the server's encoder would write (v2-payloads.ts).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { Env } from "../../worker/contract.ts";
import { parseDeliveryConfig } from "../../worker/delivery/delivery-config.ts";
import { eventBody } from "../../worker/delivery/event-body.ts";
import { eventId } from "../../worker/delivery/event-id.ts";
import { objectMembers } from "../../worker/delivery/json-members.ts";
import { v1Event } from "../../worker/delivery/v1-event.ts";
import { parseV2Frame } from "../../worker/jetstream/v2-frame.ts";
import { completeEvent } from "../../worker/queue/complete-event.ts";
import { ALL_FIXTURES, FIXTURES, V2_TYPE, v2Frame, v2PayloadOf, v2Time } from "./v2-payloads.ts";

const GOLDEN = FIXTURES["jetstream-v2-golden_v1"];
const withVars = (vars: Record<string, unknown>) => ({ ...env, WEBHOOK_URL: "https://example.com/hook", ...vars }) as Env;

describe("the v2 payloads the tests build", () => {
  it("are laid out as the server's encoder writes them: $type first, keys in order, time with six fractional digits", () => {
    expect(ALL_FIXTURES).toHaveLength(177);
    for (const [i, legacy] of ALL_FIXTURES.entries()) {
      const payload = v2PayloadOf(legacy, 1000 + i);
      const value = JSON.parse(payload) as Record<string, unknown>;
      const keys = Object.keys(value);
      expect(keys[0]).toBe("$type");
      expect(keys.slice(1)).toEqual([...keys.slice(1)].sort());
      expect(value.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
      expect(value.seq).toBe(1000 + i);
    }
    expect(v2Time(1725911162329308)).toBe("2024-09-09T19:46:02.329308Z");
    expect(v2Time(1725911162000001)).toBe("2024-09-09T19:46:02.000001Z");
  });

  it("read back by the relay and the consumer as their legacy twin (did, time), and cut from their frame unchanged", () => {
    for (const [i, legacy] of ALL_FIXTURES.entries()) {
      const payload = v2PayloadOf(legacy, 1000 + i);
      const { did, time_us } = JSON.parse(legacy) as { did: string; time_us: number };
      expect(completeEvent({ raw: payload, receivedAt: 1 }), legacy).toEqual({ raw: payload, did, timeUs: time_us, receivedAt: 1, attempts: 0 });
      const frame = parseV2Frame(v2Frame(payload));
      expect(frame.type === "event" && frame.payload).toBe(payload);
    }
  });
});

describe("the top-level members of a JSON object, as written", () => {
  it.each([
    ["{}", []],
    [' { "a" : 1 , "b":"x" } ', [["a", "1"], ["b", '"x"']]],
    ['{"a":{"b":[1,{"c":"}"}]},"d":true,"e":null,"f":-1.5e3}', [["a", '{"b":[1,{"c":"}"}]}'], ["d", "true"], ["e", "null"], ["f", "-1.5e3"]]],
    ['{"s":"a\\"b\\\\","t":"\\u0026"}', [["s", '"a\\"b\\\\"'], ["t", '"\\u0026"']]],
    ['{"k\\u0065y":[ 1 , 2 ],"x":{ }}', [["key", "[ 1 , 2 ]"], ["x", "{ }"]]],
    ['{"a":1,"a":2}', [["a", "2"]]],
    ['{"a":"日本語 🎉","b":[]}', [["a", '"日本語 🎉"'], ["b", "[]"]]],
  ])("%s", (text, members) => {
    expect([...(objectMembers(text) ?? [])]).toEqual(members);
  });

  it.each(["[]", '"text"', "12", "null", ""])("none in %j: not an object", (text) => {
    expect(objectMembers(text)).toBeNull();
  });
});

describe("a v2 payload as a v1 event", () => {
  const T = `"$type":"${V2_TYPE}`;
  it.each([
    [
      "a create: the record's text copied as written (spaces, escapes), cid after it",
      `{${T}#commit","cid":"bafyC","collection":"app.bsky.feed.post","did":"did:plc:a","operation":"create","record":{ "text" : "a \\u0026 b\\n", "n":1.50 },"rev":"r1","rkey":"k1","seq":7,"time":"2024-09-09T19:46:02.329308Z"}`,
      `{"did":"did:plc:a","time_us":1725911162329308,"kind":"commit","commit":{"rev":"r1","operation":"create","collection":"app.bsky.feed.post","rkey":"k1","record":{ "text" : "a \\u0026 b\\n", "n":1.50 },"cid":"bafyC"}}`,
    ],
    [
      "a delete: no record, no cid",
      `{${T}#commit","collection":"app.bsky.graph.follow","did":"did:plc:b","operation":"delete","rev":"r2","rkey":"k2","seq":8,"time":"2024-09-05T06:11:06.833633Z"}`,
      `{"did":"did:plc:b","time_us":1725516666833633,"kind":"commit","commit":{"rev":"r2","operation":"delete","collection":"app.bsky.graph.follow","rkey":"k2"}}`,
    ],
    [
      "an identity: the upstream object as written",
      `{${T}#identity","did":"did:plc:c","identity":{"did":"did:plc:c","handle":"h.example","seq":1409752997,"time":"2024-09-05T06:11:04.870Z"},"seq":9,"time":"2024-09-05T06:11:05.234703Z"}`,
      `{"did":"did:plc:c","time_us":1725516665234703,"kind":"identity","identity":{"did":"did:plc:c","handle":"h.example","seq":1409752997,"time":"2024-09-05T06:11:04.870Z"}}`,
    ],
    [
      "an account",
      `{${T}#account","account":{"active":false,"did":"did:plc:d","seq":5,"status":"takendown","time":"2025-09-10T15:20:40.439Z"},"did":"did:plc:d","seq":10,"time":"2025-09-10T15:20:40.675638Z"}`,
      `{"did":"did:plc:d","time_us":1757517640675638,"kind":"account","account":{"active":false,"did":"did:plc:d","seq":5,"status":"takendown","time":"2025-09-10T15:20:40.439Z"}}`,
    ],
    [
      "a sync (no legacy shape): the same envelope as identity and account",
      `{${T}#sync","did":"did:plc:e","seq":11,"sync":{"blocks":{"$bytes":"AAEC"},"did":"did:plc:e","rev":"r3","seq":77,"time":"2026-08-13T00:00:00.000Z"},"time":"2026-08-13T00:00:00.000001Z"}`,
      `{"did":"did:plc:e","time_us":1786579200000001,"kind":"sync","sync":{"blocks":{"$bytes":"AAEC"},"did":"did:plc:e","rev":"r3","seq":77,"time":"2026-08-13T00:00:00.000Z"}}`,
    ],
    [
      "members in another order, and a time with milliseconds only",
      `{"time":"2024-09-09T19:46:02.329Z","seq":1,"rkey":"k","rev":"r","did":"did:plc:f","operation":"update","collection":"c.d","record":{},"cid":"x",${T}#commit"}`,
      `{"did":"did:plc:f","time_us":1725911162329000,"kind":"commit","commit":{"rev":"r","operation":"update","collection":"c.d","rkey":"k","record":{},"cid":"x"}}`,
    ],
  ])("%s", (_what, payload, legacy) => {
    expect(v1Event(payload)).toEqual({ text: legacy });
    expect(JSON.parse(legacy)).toBeTruthy();
  });

  it.each([
    ["[1]", "the payload is not a JSON object"],
    ['{"did":"did:plc:a","time":"2024-09-09T19:46:02.329308Z"}', "the payload has no subscribeEvents $type"],
    ['{"$type":"app.bsky.feed.post","did":"did:plc:a"}', "the payload has no subscribeEvents $type"],
    [`{"$type":"${V2_TYPE}#commit","did":7,"time":"2024-09-09T19:46:02.329308Z"}`, "the payload has no did"],
    [`{"$type":"${V2_TYPE}#commit","did":"did:plc:a","time":"yesterday"}`, "the payload has no readable time"],
    [`{"$type":"${V2_TYPE}#commit","did":"did:plc:a"}`, "the payload has no readable time"],
    [`{"$type":"${V2_TYPE}#commit","collection":"c","did":"did:plc:a","operation":"create","rkey":"k","time":"2024-09-09T19:46:02.329308Z"}`, "the commit has no rev"],
    [`{"$type":"${V2_TYPE}#commit","collection":"c","did":"did:plc:a","operation":"create","rev":1,"rkey":"k","time":"2024-09-09T19:46:02.329308Z"}`, "the commit has no rev"],
    [`{"$type":"${V2_TYPE}#identity","did":"did:plc:a","identity":"x","time":"2024-09-09T19:46:02.329308Z"}`, "the #identity payload has no identity object"],
  ])("refuses %s: %s", (payload, problem) => {
    expect(v1Event(payload)).toEqual({ problem });
  });

  it("gives back every real fixture's legacy text, byte for byte, from its v2 payload", () => {
    // All 177 fixtures are in the legacy server's own layout, so equality is byte for byte (not only JSON).
    for (const [i, legacy] of ALL_FIXTURES.entries()) expect(v1Event(v2PayloadOf(legacy, 31527015322 + i)), legacy).toEqual({ text: legacy });
    // Another instance's seq and clock: the same event, another time_us.
    const legacy = GOLDEN[0];
    const event = JSON.parse(legacy) as { time_us: number };
    expect(v1Event(v2PayloadOf(legacy, 5, event.time_us + 4711))).toEqual({ text: legacy.replace(String(event.time_us), String(event.time_us + 4711)) });
  });
});

describe("the body in each format", () => {
  it("is the event as received, or in v1 a v2 event's legacy shape; legacy events go unchanged in both", () => {
    for (const legacy of GOLDEN) {
      const payload = v2PayloadOf(legacy, 42);
      expect(eventBody(payload, "as-received")).toEqual({ text: payload });
      expect(eventBody(payload, "v1")).toEqual({ text: legacy });
      expect(eventBody(legacy, "as-received")).toEqual({ text: legacy });
      expect(eventBody(legacy, "v1")).toEqual({ text: legacy });
    }
  });
});

describe("webhook-id of v2 events", () => {
  it("is the legacy twin's for every real fixture, from any instance (seq and time differ)", () => {
    for (const [i, legacy] of ALL_FIXTURES.entries()) {
      const id = eventId(legacy);
      const event = JSON.parse(legacy) as { time_us: number };
      expect(eventId(v2PayloadOf(legacy, 1 + i)), legacy).toBe(id);
      expect(eventId(v2PayloadOf(legacy, 900_000 + i, event.time_us - 2_000_000)), legacy).toBe(id);
      const fromV2Server = JSON.stringify({ ...JSON.parse(legacy), cursor: 900_000 + i }); // a v2 server's /subscribe
      expect(eventId(fromV2Server)).toBe(id);
    }
  });

  it("keeps the ids of the first release for the same events from the v2 wire", () => {
    expect(eventId(v2PayloadOf(GOLDEN[0], 1))).toBe("evt_a13dcacdc618cb1d14bf21cb556e2064"); // commit
    expect(eventId(v2PayloadOf(GOLDEN[7], 2))).toBe("evt_e6ba3a44ba82e5f9a64328dadcc206a1"); // identity
    expect(eventId(v2PayloadOf(GOLDEN[8], 3))).toBe("evt_8106c9c16fdc89b655fa3199d7105dd3"); // account
  });

  it("differs between different events", () => {
    const corpus = FIXTURES["jetstream-v2-corpus-expected_v1"];
    expect(new Set(corpus.map((legacy, i) => eventId(v2PayloadOf(legacy, i + 1)))).size).toBe(corpus.length);
  });

  it("of a sync event (no legacy twin) follows its content, not its seq or time", () => {
    const sync = (seq: number, time: string, rev: string) =>
      `{"$type":"${V2_TYPE}#sync","did":"did:plc:e","seq":${seq},"sync":{"blocks":{"$bytes":"AAEC"},"did":"did:plc:e","rev":"${rev}","seq":77,"time":"2026-08-13T00:00:00.000Z"},"time":"${time}"}`;
    const id = eventId(sync(11, "2026-08-13T00:00:00.000001Z", "r3"));
    expect(eventId(sync(99999, "2026-08-13T00:00:02.500000Z", "r3"))).toBe(id);
    expect(eventId(sync(11, "2026-08-13T00:00:00.000001Z", "r4"))).not.toBe(id);
    // Its v1 shape is the same event.
    const body = v1Event(sync(11, "2026-08-13T00:00:00.000001Z", "r3"));
    expect("text" in body && eventId(body.text)).toBe(id);
  });
});

describe("WEBHOOK_EVENT_FORMAT", () => {
  it("is as-received by default and accepts v1", () => {
    expect(parseDeliveryConfig(withVars({})).config?.eventFormat).toBe("as-received");
    expect(parseDeliveryConfig(withVars({ WEBHOOK_EVENT_FORMAT: "v1" })).config?.eventFormat).toBe("v1");
    expect(parseDeliveryConfig(withVars({ WEBHOOK_EVENT_FORMAT: " As-Received " })).config?.eventFormat).toBe("as-received");
    expect(parseDeliveryConfig(withVars({ WEBHOOK_EVENT_FORMAT: "" })).config?.eventFormat).toBe("as-received");
  });

  it.each(["v2", "legacy", "json"])("refuses %j like any bad value: reported, and nothing is delivered meanwhile", (value) => {
    const { config, problems } = parseDeliveryConfig(withVars({ WEBHOOK_EVENT_FORMAT: value }));
    expect(config).toBeNull();
    expect(problems).toEqual([
      {
        variable: "WEBHOOK_EVENT_FORMAT",
        message: expect.stringContaining(`WEBHOOK_EVENT_FORMAT is "${value}", which is neither as-received nor v1`),
        fix: "Set WEBHOOK_EVENT_FORMAT to as-received (each event as Jetstream sent it) or v1 (the legacy Jetstream JSON), or unset it for as-received.",
      },
    ]);
    expect(problems[0].message).toContain("webhook delivery is paused until it is fixed");
  });
});
