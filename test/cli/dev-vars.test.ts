// Where `dev` takes the worker's variables from: flags > environment > .dev.vars.
import { expect, test } from "vitest";
import { mergeDevVars, parseDotenv } from "../../cli/lib/dev-vars.ts";

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
