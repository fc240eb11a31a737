import { type Command, InvalidArgumentError, Option } from "commander";
import type { DeadLetter, DeadLetterPage, DeadLetterSelection } from "../../worker/api-types.ts";
import { findDeadLetterReplay, followDeadLetterReplay, jobLine, startDeadLetterReplay } from "../lib/dlq-replay-flow.ts";
import { ask, requireConfirmationPossible } from "../lib/confirm.ts";
import { CliError, ExitCode } from "../lib/exit-codes.ts";
import { formatCount, formatTime } from "../lib/terminal-format.ts";
import { commandHelp } from "../lib/help.ts";
import { addConnectionOptions, type ConnectionFlags, connect, parseCount, parseOffset, parseSeconds } from "../lib/operate-options.ts";
import { renderPairs, renderTable } from "../lib/table.ts";
import { expectShape } from "../lib/validate.ts";

const MAX_PAGE = 1000;

export function register(program: Command): void {
  const dlq = program
    .command("dlq")
    .summary("Dead-lettered events: list, replay, purge")
    .description(
      "Events the webhook refused (non-retryable 4xx) or that exhausted their retries are kept in the dead-letter store, inspectable and replayable. Every dlq command needs the admin token.",
    );

  const list = dlq
    .command("list", { isDefault: true })
    .description("List dead letters, newest page first (GET /dlq)")
    .option("--offset <n>", "skip this many", parseOffset, 0)
    .option("--limit <n>", `at most this many (1-${MAX_PAGE})`, parseLimit, 50)
    .option("--all", "fetch every page");
  addConnectionOptions(list, { jsonWhenPiped: true });
  list.addHelpText(
    "after",
    commandHelp({
      examples: ["jetstream-relay dlq", "jetstream-relay dlq list --limit 200 --offset 200", "jetstream-relay dlq list --all --json | jq -r '.events[].id'"],
      nonInteractive: ["Off a terminal it prints the page as one JSON document ({total, events, nextOffset, evicted}); with --all, every event in one document."],
    }),
  );
  list.action(async (flags: ConnectionFlags & { offset: number; limit: number; all?: boolean }) => {
    const { client, output } = await connect(flags, { jsonWhenPiped: true });
    const fetchPage = async (offset: number, limit: number) =>
      expectShape<DeadLetterPage>((await client.get(`/dlq?offset=${offset}&limit=${limit}`)).body, "GET /dlq", client.target.url, (p) => typeof p.total === "number" && Array.isArray(p.events));
    let page = await fetchPage(flags.offset, flags.all ? MAX_PAGE : flags.limit);
    if (flags.all) {
      const events = [...page.events];
      while (page.nextOffset !== null && page.nextOffset !== undefined && page.events.length > 0) {
        page = await fetchPage(page.nextOffset, MAX_PAGE);
        events.push(...page.events);
      }
      page = { ...page, events, nextOffset: null };
    }
    if (output.json) {
      output.document(page);
      return;
    }
    const c = output.out;
    if (page.total === 0) {
      output.lines([`no dead letters${page.evicted ? c.red(` (${formatCount(page.evicted)} were evicted because the store was full)`) : ""}`]);
      return;
    }
    const width = process.stdout.columns || 120;
    const lines = renderTable(
      [{ header: "id" }, { header: "failed" }, { header: "attempts", align: "right" }, { header: "event" }, { header: "error" }],
      page.events.map((letter) => [letter.id, formatTime(letter.failedAt), String(letter.attempts), `${letter.stub ? "stub: " : ""}${describeEvent(letter)}`, shorten(letter.error, Math.max(30, width - 110))]),
      { header: c.dim },
    );
    const first = flags.all ? 1 : flags.offset + 1;
    const shown = `showing ${formatCount(first)}–${formatCount(first + page.events.length - 1)} of ${formatCount(page.total)}`;
    const byBytes = page.limitedBy === "bytes" ? " (the page ended at its byte budget: large events)" : "";
    lines.push("", c.dim(`${shown}${page.nextOffset !== null ? ` · next page: --offset ${page.nextOffset}${byBytes}` : ""}`));
    if (page.evicted) lines.push(c.red(`${formatCount(page.evicted)} dead letters were evicted because the store was full`));
    lines.push(c.dim("full event: jetstream-relay dlq show ID   ·   replay: dlq replay ID… | --all   ·   delete: dlq purge ID… | --all"));
    output.lines(lines);
  });

  const show = dlq
    .command("show")
    .description("Show one dead letter in full: the event as received, the error, the attempts")
    .argument("<id>", "its id (as `dlq list` shows it)");
  addConnectionOptions(show);
  show.addHelpText(
    "after",
    commandHelp({
      examples: ["jetstream-relay dlq show 3f1c…e9", "jetstream-relay dlq show 3f1c…e9 --json | jq .event"],
      nonInteractive: ["It never asks anything; exit 1 when there is no dead letter with that id."],
    }),
  );
  show.action(async (id: string, flags: ConnectionFlags) => {
    const { client, output } = await connect(flags);
    let found = await fetchOne(client, id);
    if (found === "no-route") {
      // A relay older than GET /dlq/events/:id: look through the pages.
      found = undefined;
      for (let offset: number | null = 0; offset !== null && !found; ) {
        const page: DeadLetterPage = expectShape<DeadLetterPage>((await client.get(`/dlq?offset=${offset}&limit=${MAX_PAGE}`)).body, "GET /dlq", client.target.url, (p) => Array.isArray(p.events));
        found = page.events.find((letter) => letter.id === id);
        offset = page.events.length > 0 ? (page.nextOffset ?? null) : null;
      }
    }
    if (!found) throw new CliError(`no dead letter with id ${JSON.stringify(id)}`, ExitCode.failure, "the ids are in the first column of `jetstream-relay dlq list`; it may have been replayed and delivered, or purged");
    if (output.json) {
      output.document(found);
      return;
    }
    const c = output.out;
    output.lines([
      ...renderPairs(
        [
          ["id", found.id],
          ["failed", formatTime(found.failedAt)],
          ["attempts", String(found.attempts)],
          ["error", c.red(found.error)],
          ...(found.replaying ? ([["replaying", "yes: on its way to the webhook again"]] as [string, string][]) : []),
          ...(found.stub ? ([["stub", c.yellow("yes: the event's text was lost; this is only its reference, never replayed")]] as [string, string][]) : []),
        ],
        { label: c.dim },
      ),
      "",
      JSON.stringify(found.event, null, 2),
    ]);
  });

  const replay = dlq
    .command("replay")
    .description("Deliver dead letters again as a background job (POST /dlq/replay), following its progress; they leave the store once delivered")
    .argument("[ids...]", "ids of the dead letters (as `dlq list` shows them)")
    .option("--all", "every dead letter present now (those added meanwhile are not part of the job)")
    .addOption(new Option("--attach [job]", "follow a replay job instead of starting one: the one named, else the running or latest one"))
    .option("--resume <job>", "resume a failed replay job where it stopped")
    .option("--detach", "start the job and return at once (follow it later with --attach JOB)")
    .addOption(new Option("-i, --interval <seconds>", "seconds between progress polls").argParser(parseSeconds).default(1000, "1"));
  addConnectionOptions(replay);
  replay.addHelpText(
    "after",
    commandHelp({
      examples: [
        "jetstream-relay dlq replay 3f1c…e9 a7d2…41",
        "jetstream-relay dlq replay --all",
        "jetstream-relay dlq replay --all --detach --json | jq -r .job.id",
        "jetstream-relay dlq replay --attach",
        "jetstream-relay dlq replay --resume JOB",
      ],
      nonInteractive: [
        "It never asks anything. With --json it prints the job once it is over ({job}); with --detach, the job just started. Exit 1 when the job failed.",
        "A job sends each selected dead letter at most once: running it again while its events are on their way sends nothing twice.",
      ],
    }),
  );
  replay.action(async (ids: string[], flags: ConnectionFlags & { all?: boolean; attach?: string | true; resume?: string; detach?: boolean; interval: number }) => {
    const given = [ids.length > 0 || flags.all, flags.attach !== undefined, flags.resume !== undefined].filter(Boolean).length;
    if (given > 1) throw new CliError("give dead letters (ids or --all), --attach or --resume: one of them", ExitCode.usage, "jetstream-relay dlq replay --all");
    const selection = flags.attach === undefined && flags.resume === undefined ? selectionOf(ids, flags.all, "replay") : null;
    const { client, output } = await connect(flags);
    let job;
    if (flags.attach !== undefined) job = await findDeadLetterReplay(client, flags.attach);
    else if (flags.resume !== undefined) job = await startDeadLetterReplay(client, output, { job: flags.resume });
    else job = await startDeadLetterReplay(client, output, { ...selection!, job: crypto.randomUUID() });
    if (flags.detach) {
      if (output.json) output.document({ job });
      else output.lines([jobLine(job), "", output.out.dim(`follow it: jetstream-relay dlq replay --attach ${job.id}`)]);
      return;
    }
    await followDeadLetterReplay(client, output, flags.interval, job);
  });

  const purge = dlq
    .command("purge")
    .description("Delete dead letters for good (POST /dlq/purge); --all asks first")
    .argument("[ids...]", "ids of the dead letters (as `dlq list` shows them)")
    .option("--all", "every dead letter (asks; without a terminal needs --yes)")
    .option("-y, --yes", "do not ask");
  addConnectionOptions(purge);
  purge.addHelpText(
    "after",
    commandHelp({
      examples: ["jetstream-relay dlq purge 3f1c…e9", "jetstream-relay dlq purge --all"],
      nonInteractive: ["purge --all refuses without a terminal (exit 2) unless --yes is given: jetstream-relay dlq purge --all --yes"],
    }),
  );
  purge.action(async (ids: string[], flags: ConnectionFlags & { all?: boolean; yes?: boolean }) => {
    const selection = selectionOf(ids, flags.all, "purge");
    const mode = "all" in selection ? requireConfirmationPossible(flags.yes, "purge --all", "jetstream-relay dlq purge --all --yes") : "yes";
    const { client, output } = await connect(flags);
    if (mode === "ask") {
      const page = expectShape<DeadLetterPage>((await client.get("/dlq?offset=0&limit=1")).body, "GET /dlq", client.target.url, (p) => typeof p.total === "number");
      output.message(`This deletes all ${formatCount(page.total)} dead letters of ${client.target.url} for good; they can no longer be replayed.`);
      if (!(await ask("Delete every dead letter?"))) throw new CliError("nothing was deleted", ExitCode.failure);
    }
    const { body } = await client.post<{ purged?: number }>("/dlq/purge", selection);
    if (output.json) output.document(body ?? {});
    else output.lines([`${formatCount(body?.purged ?? 0)} dead letter${body?.purged === 1 ? "" : "s"} deleted`]);
  });
}

function selectionOf(ids: string[], all: boolean | undefined, verb: string): DeadLetterSelection {
  if (all && ids.length) throw new CliError(`give dead-letter ids or --all, not both`, ExitCode.usage, `jetstream-relay dlq ${verb} --all`);
  if (all) return { all: true };
  if (!ids.length) throw new CliError(`say which dead letters to ${verb}: their ids, or --all`, ExitCode.usage, `ids are in the first column of \`jetstream-relay dlq list\``);
  return { ids: [...new Set(ids)] };
}

/** GET /dlq/events/:id: the dead letter, undefined when there is none, "no-route" when the relay predates the route. */
async function fetchOne(client: Awaited<ReturnType<typeof connect>>["client"], id: string): Promise<DeadLetter | undefined | "no-route"> {
  const { status, body } = await client.request<{ event?: DeadLetter; code?: string }>({ path: `/dlq/events/${encodeURIComponent(id)}`, accept: [404] });
  if (status === 404) return body?.code === "no-such-dead-letter" ? undefined : "no-route";
  return expectShape<{ event: DeadLetter }>(body, "GET /dlq/events/:id", client.target.url, (a) => typeof a.event === "object" && a.event !== null).event;
}

function parseLimit(value: string): number {
  const limit = parseCount(value);
  if (limit > MAX_PAGE) throw new InvalidArgumentError(`at most ${MAX_PAGE} per page; use --all for everything`);
  return limit;
}

/** "commit app.bsky.feed.post create did:plc:…" from the dead-lettered event. */
function describeEvent(letter: DeadLetter): string {
  const event = letter.event as { kind?: string; did?: string; commit?: { collection?: string; operation?: string } } | null;
  if (!event || typeof event !== "object") return "?";
  const parts = [event.kind ?? "?"];
  if (event.commit) parts.push(event.commit.collection ?? "?", event.commit.operation ?? "?");
  if (event.did) parts.push(event.did);
  return parts.join(" ");
}

function shorten(text: string, width: number): string {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat;
}
