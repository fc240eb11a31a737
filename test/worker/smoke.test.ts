import { env } from "cloudflare:workers";
import { inject } from "vitest";
import { describe, expect, it } from "vitest";

describe("toolchain", () => {
  it("runs inside workerd and reaches a Node server on 127.0.0.1", async () => {
    const base = inject("webhookBase");
    const res = await fetch(`${base}/`);
    expect(await res.text()).toBe("ok");
    expect(env.JETSTREAM_COLLECTIONS).toContain("app.bsky.feed.post");
  });
});
