import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FakeCloudflareApi } from "./fake-cloudflare-api.ts";

/**
 * The environment under which the real wrangler talks to the fake Cloudflare API, isolated from the
 * developer's own wrangler login, cache and logs.
 */
export async function cloudflareEnv(api: FakeCloudflareApi): Promise<Record<string, string>> {
  const home = await mkdtemp(join(tmpdir(), "jetstream-relay-wrangler-home-"));
  return {
    HOME: home,
    XDG_CONFIG_HOME: join(home, ".config"),
    WRANGLER_CACHE_DIR: join(home, "cache"),
    WRANGLER_LOG_PATH: join(home, "logs"),
    WRANGLER_SEND_METRICS: "false",
    CLOUDFLARE_API_BASE_URL: api.base,
    CLOUDFLARE_API_TOKEN: api.token,
    CLOUDFLARE_ACCOUNT_ID: api.accountId,
    // The CLI's sources, not a bundle that may predate them.
    JETSTREAM_RELAY_FROM_SOURCE: "1",
  };
}
