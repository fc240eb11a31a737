// The Jetstream endpoints init offers: Bluesky's v2 hosts by default, the numbered legacy hosts when chosen.
import { describe, expect, it } from "vitest";
import { BLUESKY_LEGACY_ENDPOINTS, choiceOf, describeEndpoints, ENDPOINT_CHOICES, jetstreamUrlFor } from "../../cli/lib/jetstream-endpoints.ts";
import { settingProblem } from "../../cli/lib/setting-checks.ts";
import { DEFAULT_ENDPOINTS } from "../../worker/config/registry.ts";

describe("Jetstream endpoint choices", () => {
  it("offers v2 first; choosing it writes nothing (the relay's default is Bluesky's v2 hosts)", () => {
    expect(ENDPOINT_CHOICES.map((c) => c.value)).toEqual(["v2", "legacy", "custom"]);
    expect(jetstreamUrlFor("v2")).toBeUndefined();
    expect(DEFAULT_ENDPOINTS).toEqual([
      "wss://jetstream.us-east.bsky.network/xrpc/network.bsky.jetstream.subscribeEvents",
      "wss://jetstream.us-west.bsky.network/xrpc/network.bsky.jetstream.subscribeEvents",
    ]);
  });

  it("the legacy choice names the numbered hosts, which the relay accepts", () => {
    const value = jetstreamUrlFor("legacy")!;
    expect(value.split(",")).toEqual(BLUESKY_LEGACY_ENDPOINTS);
    expect(settingProblem("JETSTREAM_URL", value)).toBeNull();
  });

  it("tells an earlier value's choice back, to offer it again on a re-run", () => {
    expect(choiceOf(undefined)).toBe("v2");
    expect(choiceOf(DEFAULT_ENDPOINTS.join(" , "))).toBe("v2");
    expect(choiceOf(BLUESKY_LEGACY_ENDPOINTS.join(","))).toBe("legacy");
    expect(choiceOf(BLUESKY_LEGACY_ENDPOINTS.slice(0, 1).join(","))).toBe("custom");
    expect(choiceOf("ws://127.0.0.1:6008/subscribe")).toBe("custom");
  });

  it("says in one line which endpoints a value means", () => {
    expect(describeEndpoints(undefined)).toBe(`Bluesky's v2 hosts (${DEFAULT_ENDPOINTS.join(", ")}), the default`);
    expect(describeEndpoints(DEFAULT_ENDPOINTS.join(","))).toBe(`Bluesky's v2 hosts (${DEFAULT_ENDPOINTS.join(", ")})`);
    expect(describeEndpoints(BLUESKY_LEGACY_ENDPOINTS.join(","))).toContain("numbered legacy hosts");
    expect(describeEndpoints("ws://a/subscribe, ws://b/subscribe")).toBe("ws://a/subscribe, ws://b/subscribe");
  });

  it("never prints an endpoint's credentials", () => {
    expect(describeEndpoints("wss://user:pw@a.example/subscribe,ws://b/subscribe")).toBe("wss://a.example/subscribe, ws://b/subscribe");
  });
});
