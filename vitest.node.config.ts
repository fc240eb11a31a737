import { defineConfig } from "vitest/config";

// CLI tests: run the real `jetstream-relay` command as a subprocess against real local servers.
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts", "test/cli/**/*.test.ts", "test/browser/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    passWithNoTests: true,
  },
});
