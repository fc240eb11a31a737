import { execFileSync } from "node:child_process";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ensureBundle } from "./support/bundle.ts";
import { type FakeRelay, healthyReport, sampleStats, startFakeRelay } from "./support/fake-relay.ts";
import { runInPty } from "./support/pty.ts";
import { runCli } from "./support/run-cli.ts";

// Terminal behaviour under a real pseudo-terminal (python3's pty module): in-place redraw, Ctrl-C,
// colour, and the reset prompt.

const HIDE_CURSOR = "\x1b[?25l";
const SHOW_CURSOR = "\x1b[?25h";
const CLEAR_SCREEN = "\x1b[2J";
const HOME = "\x1b[H";
const SGR = /\x1b\[\d+(;\d+)*m/;

let relay: FakeRelay;
let env: Record<string, string>;
let polls = 0;

beforeAll(async () => {
  execFileSync("python3", ["-c", "import pty, termios, fcntl"]); // the machine has what the PTY driver needs
  ensureBundle();
  relay = await startFakeRelay({ "GET /health": { json: healthyReport() }, "POST /reset": { json: { resetAt: new Date().toISOString() } } });
  env = { JETSTREAM_RELAY_URL: relay.url, JETSTREAM_RELAY_TOKEN: "t0ken-for-terminal-tests" };
});
afterAll(() => relay.close());
afterEach(() => {
  relay.requests.length = 0;
  polls = 0;
});

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** /stats whose received count grows by 100 per poll; poll number `failing` answers 503. */
function growingStats(failing?: number) {
  relay.set({
    "GET /stats": () => {
      polls++;
      if (polls === failing) return { status: 503, json: { error: "The relay object failed to give its statistics: overloaded" } };
      return { json: sampleStats({ totalReceived: 5000 + polls * 100 }) };
    },
  });
}

describe("stats --watch on a terminal", () => {
  it("redraws in place (home, clear to end of line, one clear screen only), shows rates between polls, and Ctrl-C restores the cursor with exit 130", async () => {
    growingStats();
    const session = runInPty(["stats", "--watch", "--interval", "0.3"], { env });
    try {
      await session.waitFor(/\/s \(last [\d.]+m?s\)[\s\S]*\/s \(last [\d.]+m?s\)/);
      session.type("\x03");
      expect(await session.exited).toBe(130);
    } finally {
      session.kill();
    }
    const out = session.output();
    expect(out.startsWith(HIDE_CURSOR + CLEAR_SCREEN + HOME)).toBe(true);
    const frames = out.split(HOME).slice(1);
    expect(frames.length).toBeGreaterThanOrEqual(3);
    // After the first frame the screen is never cleared as a whole: each line is overwritten in place.
    expect(out.split(CLEAR_SCREEN)).toHaveLength(2);
    for (const frame of frames.slice(0, -1)) {
      const lines = frame.split("\r\n");
      expect(lines.every((line) => line.endsWith("\x1b[K") || line.endsWith("\x1b[K\x1b[J"))).toBe(true);
    }
    // Rates computed between polls: 100 more events received per poll.
    expect(out).toMatch(/received +5,[0-9]{3} +[\d.]+\/s/);
    // The terminal is given back: the cursor is shown again after the last frame.
    expect(out.lastIndexOf(SHOW_CURSOR)).toBeGreaterThan(out.lastIndexOf(HOME));
    expect(out).toContain("\x1b[1m"); // colour on a terminal
  });

  it("a failed poll is shown on the screen and polling goes on", async () => {
    growingStats(2);
    const session = runInPty(["stats", "--watch", "--interval", "0.3"], { env });
    try {
      await session.waitFor("poll failed");
      await session.waitFor(/received +5,\d{3}/, { from: session.output().length });
      session.type("\x03");
      expect(await session.exited).toBe(130);
    } finally {
      session.kill();
    }
    const out = session.output();
    expect(out).toContain("overloaded");
    const lastFrame = out.slice(out.lastIndexOf(HOME));
    expect(lastFrame).not.toContain("poll failed");
    expect(polls).toBeGreaterThanOrEqual(3);
  });

  it("stats --watch --count ends by itself and leaves the cursor visible", async () => {
    growingStats();
    const session = runInPty(["stats", "--watch", "--interval", "0.2", "--count", "2"], { env });
    expect(await session.exited).toBe(0);
    expect(session.output().trimEnd().endsWith(SHOW_CURSOR)).toBe(true);
  });
});

describe("Ctrl-C", () => {
  it("while waiting for a relay that does not answer: exit 130 at once", async () => {
    relay.set({ "GET /status": { hang: true } });
    const session = runInPty(["status", "--timeout", "60"], { env });
    try {
      await until(() => relay.requests.some((r) => r.path === "/status"));
      session.type("\x03");
      expect(await session.exited).toBe(130);
    } finally {
      session.kill();
    }
  });
});

describe("colour", () => {
  it("on a terminal: coloured; NO_COLOR or --no-color: none", async () => {
    const coloured = runInPty(["health"], { env });
    expect(await coloured.exited).toBe(0);
    expect(coloured.output()).toMatch(/\x1b\[32mhealthy/);

    const noColor = runInPty(["health"], { env: { ...env, NO_COLOR: "1" } });
    expect(await noColor.exited).toBe(0);
    expect(noColor.output()).toContain("healthy");
    expect(noColor.output()).not.toMatch(SGR);

    const flag = runInPty(["health", "--no-color"], { env });
    expect(await flag.exited).toBe(0);
    expect(flag.output()).not.toMatch(SGR);
  });

  it("piped: none, unless FORCE_COLOR asks for it", async () => {
    const plain = await runCli(["health"], { env });
    expect(plain.stdout).toContain("healthy");
    expect(plain.stdout).not.toMatch(SGR);
    const forced = await runCli(["health"], { env: { ...env, FORCE_COLOR: "1" } });
    expect(forced.stdout).toMatch(/\x1b\[32mhealthy/);
    const forcedOff = await runCli(["health", "--no-color"], { env: { ...env, FORCE_COLOR: "1" } });
    expect(forcedOff.stdout).not.toMatch(SGR);
  });
});

describe("reset asks on a terminal", () => {
  it("shows what will be reset (never the cursor), and resets on yes", async () => {
    relay.set({ "GET /stats": { json: sampleStats() } });
    const session = runInPty(["reset"], { env });
    try {
      await session.waitFor("Reset the statistics?");
      session.type("y");
      expect(await session.exited).toBe(0);
    } finally {
      session.kill();
    }
    const out = session.output();
    expect(out).toContain("This resets the statistics of");
    expect(out).toContain("5,000 events received");
    expect(out).toMatch(/Kept:.*the cursor/);
    expect(out).toContain("statistics reset");
    expect(relay.requests.filter((r) => r.method === "POST").map((r) => r.path)).toEqual(["/reset"]);
  });

  it("answering no resets nothing (exit 1)", async () => {
    relay.set({ "GET /stats": { json: sampleStats() } });
    const session = runInPty(["reset"], { env });
    try {
      await session.waitFor("Reset the statistics?");
      session.type("n");
      expect(await session.exited).toBe(1);
    } finally {
      session.kill();
    }
    expect(session.output()).toContain("nothing was reset");
    expect(relay.requests.filter((r) => r.method === "POST")).toHaveLength(0);
  });

  it("Ctrl-C at the question: exit 130, nothing reset, cursor shown", async () => {
    relay.set({ "GET /stats": { json: sampleStats() } });
    const session = runInPty(["reset"], { env });
    try {
      await session.waitFor("Reset the statistics?");
      session.type("\x03");
      expect(await session.exited).toBe(130);
    } finally {
      session.kill();
    }
    expect(relay.requests.filter((r) => r.method === "POST")).toHaveLength(0);
    const out = session.output();
    expect(out.lastIndexOf(SHOW_CURSOR)).toBeGreaterThan(out.lastIndexOf(HIDE_CURSOR));
  });

  it("on a terminal but in CI: no question, exit 2 without --yes", async () => {
    const session = runInPty(["reset"], { env: { ...env, CI: "true" } });
    expect(await session.exited).toBe(2);
    expect(session.output()).toContain("needs confirmation");
    expect(relay.requests).toHaveLength(0);
  });
});
