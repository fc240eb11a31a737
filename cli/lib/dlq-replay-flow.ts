import type { DeadLetterReplayAnswer, DeadLetterReplayJob, DeadLetterReplayRequest } from "../../worker/api-types.ts";
import { CliError, ExitCode } from "./exit-codes.ts";
import { LiveScreen } from "./live-screen.ts";
import type { Output } from "./output.ts";
import type { RelayClient } from "./relay-client.ts";
import { formatCount, formatTime } from "./terminal-format.ts";
import { expectShape } from "./validate.ts";
import { pollUntilOver } from "./poll-until-over.ts";

const isAnswer = (a: Record<string, unknown>) => typeof a.job === "object" && a.job !== null && typeof (a.job as { id?: unknown }).id === "string";

/**
 * Starts a dead-letter replay job (POST /dlq/replay with an id of ours, so that a retried request is the
 * same job), or resumes a failed one; says when the relay answered with a job that was already running.
 */
export async function startDeadLetterReplay(client: RelayClient, output: Output, request: DeadLetterReplayRequest): Promise<DeadLetterReplayJob> {
  const { body } = await client.post<DeadLetterReplayAnswer>("/dlq/replay", request);
  const answer = expectShape<DeadLetterReplayAnswer>(body, "POST /dlq/replay", client.target.url, isAnswer);
  if (answer.attached && answer.job.id !== request.job) output.message(`a replay of the same dead letters is already running: following it (job ${answer.job.id})`);
  return answer.job;
}

/** The job to attach to: the one named, else the running one, else the latest. */
export async function findDeadLetterReplay(client: RelayClient, id: string | true): Promise<DeadLetterReplayJob> {
  if (id !== true) {
    const { status, body } = await client.request<{ job?: DeadLetterReplayJob; error?: string }>({ path: `/dlq/replay/${encodeURIComponent(id)}`, accept: [404] });
    if (status === 404 || !body?.job) throw new CliError(`no dead-letter replay job ${JSON.stringify(id)}`, ExitCode.failure, "jetstream-relay dlq replay --attach (without an id) follows the latest one");
    return body.job;
  }
  const { body } = await client.get<{ jobs: DeadLetterReplayJob[] }>("/dlq/replay");
  const jobs = expectShape<{ jobs: DeadLetterReplayJob[] }>(body, "GET /dlq/replay", client.target.url, (a) => Array.isArray(a.jobs)).jobs;
  const job = jobs.find((j) => j.state === "running") ?? jobs[0];
  if (!job) throw new CliError("there is no dead-letter replay job to attach to", ExitCode.failure, "start one: jetstream-relay dlq replay --all");
  return job;
}

/**
 * Follows a job until it is over: in place on a terminal, a line per poll when piped, the final job as
 * one JSON document with --json. A failed poll is shown and polling goes on; a failed job is exit 1.
 */
export async function followDeadLetterReplay(client: RelayClient, output: Output, intervalMs: number, first: DeadLetterReplayJob): Promise<void> {
  const screen = !output.json && process.stdout.isTTY ? new LiveScreen(process.stdout) : null;
  const c = output.out;
  const show = (job: DeadLetterReplayJob, failure?: string) => {
    if (output.json) return;
    if (screen) screen.render([jobLine(job), "", failure ? c.red(failure) : c.dim(`every ${intervalMs / 1000}s until it is over · Ctrl-C stops following (the job goes on: dlq replay --attach ${job.id})`)]);
    else output.lines([jobLine(job)]);
  };
  const latest = await pollUntilOver({ first, running: (job) => job.state === "running", poll: () => findDeadLetterReplay(client, first.id), show, screen, output, intervalMs });
  if (output.json) output.document({ job: latest });
  else if (screen) output.lines([jobLine(latest)]);
  if (latest.state === "done") {
    if (!output.json) output.lines([c.green(`${formatCount(latest.sent)} dead letter${latest.sent === 1 ? "" : "s"} queued for delivery`) + "; each leaves the store once the webhook accepts it"]);
    return;
  }
  throw new CliError(`dead-letter replay job ${latest.id} failed: ${latest.error ?? "no reason given"}`, ExitCode.failure, `resume it where it stopped: jetstream-relay dlq replay --resume ${latest.id}`);
}

/** "job 3f…: done · 1,200 of 1,250 sent · 50 skipped · 100% · started 12:00:01". */
export function jobLine(job: DeadLetterReplayJob): string {
  const what = job.selection === "all" ? "all" : `${formatCount(job.selection.ids)} id${job.selection.ids === 1 ? "" : "s"}`;
  const skipped = job.skipped ? ` · ${formatCount(job.skipped)} skipped (on their way already, or stubs)` : "";
  return `job ${job.id} (${what}): ${job.state} · ${formatCount(job.sent)} of ${formatCount(job.total)} sent${skipped} · ${Math.round(job.progress * 100)}% · started ${formatTime(job.startedAt)}${job.error ? ` · ${job.error}` : ""}`;
}
