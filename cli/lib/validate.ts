import { CliError, ExitCode } from "./exit-codes.ts";

/**
 * A light check that an answer has the shape of the relay's JSON (a field the command relies on), so
 * that a server that is not a relay but answers JSON is reported as such instead of drawing nonsense.
 */
export function expectShape<T>(body: unknown, what: string, url: string, check: (value: Record<string, unknown>) => boolean): T {
  if (typeof body !== "object" || body === null || Array.isArray(body) || !check(body as Record<string, unknown>)) {
    throw new CliError(`not a relay: ${what} at ${url} answered JSON that is not a jetstream-relay answer`, ExitCode.failure, "check the relay URL, and that the relay and this CLI are of matching versions");
  }
  return body as T;
}
