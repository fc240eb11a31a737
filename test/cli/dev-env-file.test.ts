// `jetstream-relay dev` hands the worker its variables byte for byte (issue 15 item 6): wrangler reads
// --env-file with dotenv 16 and dotenv-expand 12 ($NAME expanded, quotes and backslashes with rules of
// their own); cli/lib/env-file.ts writes each value so that it reads back unchanged. Checked against the
// real wrangler: a test-only worker echoes what it got; and the relay itself through `jetstream-relay dev`.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { encodeEnvValue, unwritableVariables } from "../../cli/lib/env-file.ts";
import { startWranglerDev } from "../../cli/lib/wrangler-dev.ts";
import { startWebhookReceiver } from "../support/webhook-receiver.ts";
import { REPO_ROOT, runCli } from "./support/run-cli.ts";

/** Values that a plain `NAME="value"` line would alter. */
const VALUES: Record<string, string> = {
  DOLLAR_NAME: "pa$HOME$PATH",
  DOLLAR_BRACES: "${HOME}x${NOPE:-fallback}${A+b}",
  DOLLAR_EARLIER: "$DOLLAR_NAME",
  ESCAPED_DOLLAR: "a\\$b\\\\$c$",
  DOUBLE_QUOTES: 'say "hi" \\"there\\"',
  SINGLE_QUOTES: "it's 'quoted'",
  BACKTICKS: "`cmd` and `more`",
  ALL_QUOTES_ONE_LINE: `'"\`mixed\`"'x`,
  BACKSLASHES: "C:\\path\\n\\r\\t\\\\end",
  TRAILING_BACKSLASH: "ends with \\",
  NEWLINES: "line one\nline two\n\nNEXT=not-a-variable\n# not a comment\n",
  CRLF: "dos\r\nline\rcr",
  QUOTE_NEWLINE: "a'b\nc`d",
  HASH: "value # not a comment",
  SPACES: "  padded  ",
  EMPTY: "",
  LOOKS_QUOTED: '"wrapped"',
  UNICODE: "é ✓ \u2028 😀",
  EQUALS: "a=b==c:d",
  WEBHOOK_SECRET_LIKE: "whsec_Zm9vYmFy+/==",
};

describe("the env-file encoding", () => {
  test("every value above has a form; values dotenv 16 cannot hold are named, never shown", () => {
    for (const [name, value] of Object.entries(VALUES)) expect(encodeEnvValue(value), name).not.toBeNull();
    const impossible = { IMPOSSIBLE: `'"\`\nsecret-part`, ALSO: `'\`"  secret-two  ` };
    const problems = unwritableVariables({ ...impossible, FINE: "ok" });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^IMPOSSIBLE: wrangler dev reads variables with dotenv 16, which cannot hold this value exactly/);
    expect(problems.join("\n")).not.toMatch(/secret-part|secret-two/);
  });
});

describe("through the real wrangler dev", () => {
  test("the worker reads every value exactly, and nothing from wrangler's own environment", async () => {
    const persistTo = await mkdtemp(join(tmpdir(), "jetstream-relay-echo-"));
    // An operator's environment that would make wrangler mix its process environment in (and override
    // the file's values with it) must not change anything.
    const saved = { include: process.env.CLOUDFLARE_INCLUDE_PROCESS_ENV, name: process.env.DOLLAR_NAME };
    process.env.CLOUDFLARE_INCLUDE_PROCESS_ENV = "true";
    process.env.DOLLAR_NAME = "from-the-environment";
    let worker: Awaited<ReturnType<typeof startWranglerDev>> | undefined;
    try {
      worker = await startWranglerDev({ config: join(REPO_ROOT, "test/fixtures/echo-env/wrangler.jsonc"), vars: VALUES, persistTo, readyTimeoutMs: 120_000 });
      const echoed = (await (await fetch(`${worker.url}/`)).json()) as Record<string, string>;
      expect(echoed).toEqual(VALUES);
    } finally {
      process.env.CLOUDFLARE_INCLUDE_PROCESS_ENV = saved.include;
      if (saved.include === undefined) delete process.env.CLOUDFLARE_INCLUDE_PROCESS_ENV;
      process.env.DOLLAR_NAME = saved.name;
      if (saved.name === undefined) delete process.env.DOLLAR_NAME;
      await worker?.stop();
      await rm(persistTo, { recursive: true, force: true });
    }
  });

  test("jetstream-relay dev: a bearer token with $, quotes and backslashes reaches the webhook unchanged", async () => {
    const cwd = await mkdtemp(join(tmpdir(), "jetstream-relay-dev-bytes-"));
    const hook = await startWebhookReceiver();
    const token = `t0k$HOME\${PATH}"q'\`\\x\\$y`;
    const { spawn } = await import("node:child_process");
    const { BIN } = await import("./support/run-cli.ts");
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !/^(JETSTREAM_|WEBHOOK_|CI$)/.test(key)) env[key] = value;
    const fixture = join(REPO_ROOT, "test/fixtures/jetstream/jetstream-v2-corpus-expected_v1.jsonl");
    const child = spawn(process.execPath, [BIN, "dev", "--playback", fixture, "--rate", "0", "--port", "0", "--collections", "app.bsky.feed.repost", "--webhook-url", `${hook.base}/in`], {
      cwd,
      env: { ...env, JETSTREAM_RELAY_FROM_SOURCE: "1", WEBHOOK_BEARER_TOKEN: token },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (output += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (output += c));
    const exited = new Promise((resolve) => child.on("close", resolve));
    try {
      let auth: string[] = [];
      const deadline = Date.now() + 150_000;
      while (auth.length === 0 && Date.now() < deadline && child.exitCode === null) {
        const { requests } = (await (await fetch(`${hook.base}/_control/requests?path=/in`)).json()) as { requests: { headers: Record<string, string> }[] };
        auth = requests.map((r) => r.headers.authorization);
        if (auth.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
      }
      expect(auth.length, output).toBeGreaterThan(0);
      expect(new Set(auth)).toEqual(new Set([`Bearer ${token}`]));
      expect(output).not.toContain(token);
    } finally {
      child.kill("SIGINT");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 30_000))]);
      child.kill("SIGKILL");
      await hook.close();
      await rm(cwd, { recursive: true, force: true });
    }
  });

  test("a value wrangler cannot hold stops dev before anything starts (exit 2), naming the variable only", async () => {
    // (A missing playback file stops a regression too, before it starts a worker that would outlive the test.)
    const result = await runCli(["dev", "--port", "0", "--playback", join(tmpdir(), "no-such-playback.jsonl")], { env: { JETSTREAM_RELAY_FROM_SOURCE: "1", WEBHOOK_SECRET: undefined, ADMIN_TOKEN: `'"\`\nunholdable-secret-long-enough-to-be-a-token` } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("ADMIN_TOKEN: wrangler dev reads variables with dotenv 16, which cannot hold this value exactly");
    expect(result.stderr).not.toContain("unholdable-secret");
  });
});
