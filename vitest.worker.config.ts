import { cloudflareTest } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

// Worker tests run inside workerd. Node-side servers (a Jetstream-compatible server, a webhook
// receiver) are started by the global setup on 127.0.0.1; their addresses reach the tests via inject().
export default defineConfig({
  plugins: [
    cloudflareTest(({ inject }) => ({
      main: "./worker/index.ts",
      wrangler: { configPath: "./wrangler.jsonc" },
      miniflare: {
        bindings: {
          WEBHOOK_URL: `${inject("webhookBase")}/hook`,
          JETSTREAM_URL: `${inject("jetstreamBase")}/subscribe`,
          JETSTREAM_COLLECTIONS: "app.bsky.feed.post,app.bsky.feed.like,app.bsky.graph.*",
          ADMIN_TOKEN: "test-admin-token-of-at-least-32-characters",
        },
      },
    })),
  ],
  test: {
    include: ["test/worker/**/*.test.ts"],
    globalSetup: ["./test/support/worker-global-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
