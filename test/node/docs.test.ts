// The docs say only what exists: every `jetstream-relay` command and flag named in README.md and docs/ is
// one the CLI defines (its own commander definitions), every /health reason and connection state has a
// runbook entry, and every relative link (and its #anchor) resolves.
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { HEALTH_REASON_CODES } from "../../cli/lib/health-hints.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const PAGES = ["README.md", ...readdirSync(join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];
const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

// ---- the CLI as it defines itself ------------------------------------------------------------------

async function cliProgram(): Promise<Command> {
  const program = new Command("jetstream-relay");
  for (const file of readdirSync(join(ROOT, "cli/commands")).filter((f) => f.endsWith(".ts"))) {
    const module = (await import(join(ROOT, "cli/commands", file))) as { register(program: Command): void };
    module.register(program);
  }
  return program;
}

const longFlags = (command: Command) => command.options.flatMap((o) => [o.long, o.negate ? undefined : `--no-${o.long?.slice(2)}`]).filter((f): f is string => !!f);

/** The flags a named invocation may use: its own, its parent's, and without a named subcommand, those of its subcommands (a default one among them). */
function flagsOf(command: Command, parent: Command | null, subcommandNamed: boolean): Set<string> {
  const flags = new Set(["--help", "--version", ...longFlags(command), ...(parent ? longFlags(parent) : [])]);
  if (!subcommandNamed) for (const sub of command.commands) for (const f of longFlags(sub)) flags.add(f);
  return flags;
}

// ---- what the pages name ---------------------------------------------------------------------------

interface Mention {
  page: string;
  line: number;
  words: string[];
  flags: string[];
}

/** Lines outside fenced code blocks are prose; inside them, shell. Both are read. */
function mentions(page: string, text: string): Mention[] {
  const found: Mention[] = [];
  const invocation = /(?<![\w/.@-])jetstream-relay ((?:[a-z][a-z-]*)(?: [a-z][a-z-]*)?)/g;
  let inCommandTable = false;
  // A shell line continued with "\" is read as one line (kept at its first line's number).
  const lines = text.split("\n");
  for (let i = lines.length - 2; i >= 0; i--) if (lines[i].endsWith("\\")) [lines[i], lines[i + 1]] = [`${lines[i].slice(0, -1)} ${lines[i + 1]}`, ""];
  for (const [i, line] of lines.entries()) {
    for (const match of line.matchAll(invocation)) {
      const rest = line.slice(match.index + match[0].length);
      const segment = rest.split(/`| #|\|\||\||;|&&|\)|, /)[0];
      found.push({ page, line: i + 1, words: match[1].split(" "), flags: [...segment.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0]) });
    }
    // The command tables ("| command | what it does |"): the first cell is an invocation without the prefix.
    if (/^\| command \|/.test(line)) inCommandTable = true;
    else if (!line.startsWith("|")) inCommandTable = false;
    else if (inCommandTable && !line.startsWith("|---")) {
      const cell = line.split(/(?<!\\)\|/)[1];
      for (const code of cell.matchAll(/`([^`]+)`/g)) {
        const words = code[1].match(/^[a-z][a-z-]*(?: [a-z][a-z-]*)?/)?.[0].split(" ") ?? [];
        found.push({ page, line: i + 1, words, flags: [...code[1].matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0]) });
      }
    }
  }
  return found;
}

describe("every jetstream-relay command and flag the docs name exists", async () => {
  const program = await cliProgram();
  const all = PAGES.flatMap((page) => mentions(page, read(page)));

  it("finds the invocations (the reading works)", () => {
    expect(all.length).toBeGreaterThan(50);
    expect(all.some((m) => m.words[0] === "rewind" && m.flags.includes("--yes"))).toBe(true);
    expect(mentions("x", "run `jetstream-relay nonsense --fly`")).toEqual([{ page: "x", line: 1, words: ["nonsense"], flags: ["--fly"] }]);
    expect(mentions("x", "jetstream-relay init --yes \\\n  --name a \\\n  --collections b\nnext --not")).toEqual([{ page: "x", line: 1, words: ["init"], flags: ["--yes", "--name", "--collections"] }]);
  });

  const problemsOf = (found: Mention[]) => {
    const problems: string[] = [];
    for (const m of found) {
      const command = program.commands.find((c) => c.name() === m.words[0]);
      if (!command) {
        problems.push(`${m.page}:${m.line}: no command "${m.words[0]}"`);
        continue;
      }
      const sub = command.commands.find((c) => c.name() === m.words[1]);
      const flags = sub ? flagsOf(sub, command, true) : flagsOf(command, null, false);
      for (const flag of m.flags) if (!flags.has(flag)) problems.push(`${m.page}:${m.line}: "${m.words.join(" ")}" has no ${flag}`);
    }
    return problems;
  };

  it("a command or flag the CLI lacks is a problem", () => {
    const page = "`jetstream-relay nonsense`, `jetstream-relay stats --wach`, `jetstream-relay dlq list --yes`\n| command | what |\n|---|---|\n| `gaps ack --all` | x |\n";
    expect(problemsOf(mentions("x", page))).toEqual(['x:1: no command "nonsense"', 'x:1: "stats" has no --wach', 'x:1: "dlq list" has no --yes', 'x:4: "gaps ack" has no --all']);
    expect(problemsOf(mentions("x", "`jetstream-relay dlq purge --all --yes`, `jetstream-relay replay --from 14:00`, `jetstream-relay stats --no-json`"))).toEqual([]);
  });

  it.each(PAGES)("%s", (page) => expect(problemsOf(all.filter((m) => m.page === page))).toEqual([]));
});

// ---- the runbook -----------------------------------------------------------------------------------

describe("the runbook has an entry for every /health reason, status state and configuration problem", () => {
  const runbook = read("docs/runbook.md");
  const entry = (id: string) => {
    const start = runbook.indexOf(`<a id="${id}"></a>`);
    if (start < 0) return null;
    const next = runbook.indexOf("<a id=", start + 1);
    return runbook.slice(start, next < 0 ? undefined : next);
  };
  const complete = (id: string) => {
    const text = entry(id);
    expect(text, `docs/runbook.md lacks <a id="${id}">`).not.toBeNull();
    for (const part of ["**Means:**", "**Confirm:**", "**Fix:**", "**After:**"]) expect(text, `${id}: ${part}`).toContain(part);
    expect(text!.split("**Fix:**")[1], `${id}: the fix names a command`).toMatch(/jetstream-relay [a-z]/);
  };

  it("the reason codes the worker reports (the relay object's and the HTTP layer's) are those the CLI's hints cover", () => {
    const source = read("worker/relay/health.ts") + read("worker/http/handlers.ts");
    const codes = [...source.matchAll(/code: "([a-z-]+)"/g)].map((m) => m[1]);
    expect(codes.length).toBeGreaterThan(5);
    expect([...new Set(codes)].sort()).toEqual([...HEALTH_REASON_CODES].sort());
  });

  it.each(HEALTH_REASON_CODES)("reason %s", (code) => complete(`reason-${code}`));

  it("the HTTP API's table of /health reasons lists every code", () => {
    const api = read("docs/http-api.md");
    for (const code of HEALTH_REASON_CODES) expect(api, code).toContain(`| \`${code}\` |`);
  });

  const states = [...read("worker/api-types.ts").matchAll(/^\s+\| "([a-z-]+)"/gm)].map((m) => m[1]);
  it("reads the connection states from worker/api-types.ts", () => expect(states).toEqual(expect.arrayContaining(["connecting", "connected", "backoff", "paused", "config-error"])));
  it.each(states)("state %s", (state) => complete(`state-${state}`));

  it("configuration problems", () => {
    expect(runbook).toContain("## Configuration problems");
    const ids = [...runbook.matchAll(/<a id="(config-[a-z-]+)"><\/a>/g)].map((m) => m[1]);
    expect(ids.length).toBeGreaterThanOrEqual(5);
    for (const id of ids) complete(id);
  });
});

// ---- links -----------------------------------------------------------------------------------------

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2… */
function anchors(text: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    if (fenced) continue;
    for (const m of line.matchAll(/<a id="([^"]+)"><\/a>/g)) ids.add(m[1]);
    const heading = line.match(/^#{1,6} (.+)$/);
    if (!heading) continue;
    const slug = heading[1].toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replaceAll(" ", "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    ids.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return ids;
}

function links(text: string): { target: string; line: number }[] {
  const found: { target: string; line: number }[] = [];
  let fenced = false;
  for (const [i, line] of text.split("\n").entries()) {
    if (line.startsWith("```")) fenced = !fenced;
    if (fenced) continue;
    for (const m of line.replace(/`[^`]*`/g, "").matchAll(/\]\(([^)\s]+)\)/g)) found.push({ target: m[1], line: i + 1 });
  }
  return found;
}

describe("relative links and their anchors resolve", () => {
  it("the anchor reading works", () => {
    expect(anchors("# Reason `gap`\n## A, b: c\n## A, b: c\n```\n# not\n```")).toEqual(new Set(["reason-gap", "a-b-c", "a-b-c-1"]));
  });

  it.each(PAGES)("%s", (page) => {
    const problems: string[] = [];
    for (const { target, line } of links(read(page))) {
      if (/^[a-z]+:/.test(target)) continue;
      const [path, anchor] = target.split("#");
      const file = path === "" ? join(ROOT, page) : resolve(dirname(join(ROOT, page)), path);
      if (!existsSync(file)) {
        problems.push(`${page}:${line}: ${target} — no ${relative(ROOT, file)}`);
        continue;
      }
      if (anchor !== undefined && file.endsWith(".md") && !anchors(readFileSync(file, "utf8")).has(anchor)) problems.push(`${page}:${line}: ${target} — no #${anchor} in ${relative(ROOT, file)}`);
    }
    expect(problems).toEqual([]);
  });
});
