import { defineConfig } from "vitest/config";

// End-to-end reliability suite: the worker in wrangler's local runtime, a Jetstream-compatible server
// and a webhook receiver on 127.0.0.1, every event counted at the webhook.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    testTimeout: 300_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    passWithNoTests: true,
  },
});
