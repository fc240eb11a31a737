// Where `dev` takes the worker's variables from: flags > environment > .dev.vars.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { mergeDevVars, parseDotenv, WORKER_VARIABLES } from "../../cli/lib/dev-vars.ts";

test(".dev.vars is parsed like dotenv: quotes, comments, export", () => {
  const vars = parseDotenv(['# comment', 'WEBHOOK_URL="http://localhost:3000/hook"', "export ADMIN_TOKEN='a b#c'", "JETSTREAM_DIDS=did:plc:a,did:plc:b # two", "", "not a line"].join("\n"));
  expect(vars).toEqual({ WEBHOOK_URL: "http://localhost:3000/hook", ADMIN_TOKEN: "a b#c", JETSTREAM_DIDS: "did:plc:a,did:plc:b" });
});

test("flags win over the environment, which wins over .dev.vars; unrelated environment variables stay out", () => {
  const merged = mergeDevVars(
    { WEBHOOK_URL: "http://file/", JETSTREAM_COLLECTIONS: "app.bsky.feed.like", WEBHOOK_SECRET: "whsec_ZmlsZQ==" },
    { WEBHOOK_URL: "http://env/", WEBHOOK_SECRET: "whsec_ZW52", PATH: "/usr/bin", WEBHOOK_BATCH_SIZE: "5" },
    { WEBHOOK_URL: "http://flag/", JETSTREAM_URL: undefined },
  );
  expect(merged).toEqual({ WEBHOOK_URL: "http://flag/", JETSTREAM_COLLECTIONS: "app.bsky.feed.like", WEBHOOK_SECRET: "whsec_ZW52", WEBHOOK_BATCH_SIZE: "5" });
});

test("every variable the worker reads is passed on from the environment (none forgotten)", () => {
  const root = join(import.meta.dirname, "../../worker");
  const files = readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
  const named = new Set(files.flatMap((f) => [...readFileSync(join(root, f), "utf8").matchAll(/"((?:JETSTREAM|WEBHOOK|ADMIN|PROTECT|DEAD_LETTER|HEALTH)_[A-Z_]+)"/g)].map((m) => m[1])));
  expect(named.size).toBeGreaterThan(30);
  expect([...named].filter((name) => !WORKER_VARIABLES.includes(name))).toEqual([]);
});
