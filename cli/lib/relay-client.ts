import { CliError, ExitCode } from "./exit-codes.ts";
import { AnswerTooLarge, formatBytes, type HttpAnswer, httpExchange } from "./http-request.ts";
import type { Target } from "./target.ts";
import { VERSION } from "../../worker/version.ts";

export interface RelayRequest {
  method?: "GET" | "POST";
  path: string;
  body?: unknown;
  /** Statuses other than 2xx that the caller handles itself (e.g. 503 from /health). */
  accept?: number[];
}

export interface RelayAnswer<T> {
  status: number;
  body: T;
}

/**
 * Talks JSON to a relay. Every failure becomes a CliError saying what happened and how to fix it:
 * unreachable host, timeout, refused token (exit 4), a URL that is not a relay, a failing relay.
 * The admin token, when one was found, is sent with every request (an option of the relay may protect
 * its read routes too); it never appears in a message.
 */
export class RelayClient {
  constructor(
    readonly target: Target,
    readonly timeoutMs: number,
  ) {}

  async request<T>(req: RelayRequest): Promise<RelayAnswer<T>> {
    const method = req.method ?? "GET";
    const what = `${method} ${req.path}`;
    const headers: Record<string, string> = { accept: "application/json", "user-agent": `jetstream-relay-cli/${VERSION}` };
    if (this.target.token) headers.authorization = `Bearer ${this.target.token}`;
    if (req.body !== undefined) headers["content-type"] = "application/json";

    let response: HttpAnswer;
    try {
      response = await httpExchange(`${this.target.url}${req.path}`, {
        method,
        headers,
        body: req.body === undefined ? undefined : JSON.stringify(req.body),
        timeoutMs: this.timeoutMs,
      });
    } catch (error) {
      throw this.networkError(what, error);
    }
    const text = response.text;

    const ok = (response.status >= 200 && response.status < 300) || req.accept?.includes(response.status);
    if (!ok) throw this.statusError(what, response, text);
    if (response.status === 204 || text === "") return { status: response.status, body: undefined as T };
    try {
      return { status: response.status, body: JSON.parse(text) as T };
    } catch {
      // An accepted error status (503 from /health) without JSON is a failing platform, not a verdict.
      if (response.status >= 300) throw this.statusError(what, response, text);
      throw new CliError(
        `not a relay: ${what} at ${this.target.url} answered ${response.status} with something that is not JSON (${describeText(text)})`,
        ExitCode.failure,
        this.urlHint(),
      );
    }
  }

  get<T>(path: string, accept?: number[]): Promise<RelayAnswer<T>> {
    return this.request<T>({ path, accept });
  }

  post<T>(path: string, body?: unknown): Promise<RelayAnswer<T>> {
    return this.request<T>({ method: "POST", path, body });
  }

  private urlHint(): string {
    return `check the relay URL (${this.target.url}, from ${this.target.urlSource}): it is the worker's base URL, e.g. https://jetstream-relay.NAME.workers.dev`;
  }

  private networkError(what: string, error: unknown): CliError {
    const err = error as NodeJS.ErrnoException;
    const host = new URL(this.target.url).host;
    if (error instanceof AnswerTooLarge) {
      return new CliError(
        `the answer to ${what} from ${this.target.url} is larger than ${formatBytes(error.limitBytes)}: stopped reading it`,
        ExitCode.failure,
        `a relay's answers are far smaller; ${this.urlHint()}`,
      );
    }
    if (err.name === "TimeoutError") {
      return new CliError(
        `no answer from ${this.target.url} to ${what} within ${formatSeconds(this.timeoutMs)}`,
        ExitCode.failure,
        "the relay or the network is slow or stuck; try again, or raise --timeout",
      );
    }
    const code = err.code ?? "";
    const detail = err.message;
    if (code === "ECONNREFUSED") {
      return new CliError(`cannot reach the relay at ${this.target.url}: connection refused`, ExitCode.failure, `nothing listens at ${host}; ${this.urlHint()}`);
    }
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") {
      return new CliError(`cannot reach the relay at ${this.target.url}: host ${host} not found`, ExitCode.failure, this.urlHint());
    }
    if (code.startsWith("CERT_") || code.includes("SELF_SIGNED") || code.startsWith("ERR_TLS") || code === "UNABLE_TO_VERIFY_LEAF_SIGNATURE") {
      return new CliError(`cannot reach the relay at ${this.target.url}: TLS certificate problem (${code})`, ExitCode.failure, this.urlHint());
    }
    return new CliError(
      `cannot reach the relay at ${this.target.url}: ${detail}${code ? ` (${code})` : ""}`,
      ExitCode.failure,
      `the connection failed during ${what}; check the network and ${this.urlHint()}`,
    );
  }

  private statusError(what: string, response: HttpAnswer, text: string): CliError {
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
    const said = serverMessage(text);
    const suffix = said ? `: ${said}` : "";
    if (response.status === 401 || response.status === 403) {
      const relayWithoutToken = ["admin-token-too-short", "admin-token-not-set"].includes(errorCode(text) ?? "");
      const hint = relayWithoutToken
        ? "the relay itself has no usable ADMIN_TOKEN (unset, or shorter than 32 characters): set a long one on the relay (`jetstream-relay init` generates one; `openssl rand -base64 32 | npx wrangler secret put ADMIN_TOKEN`), then use the same here"
        : this.target.token
        ? `the token from ${this.target.tokenSource} is not the relay's ADMIN_TOKEN; set JETSTREAM_RELAY_TOKEN to the right one`
        : `no admin token was found (${this.target.tokenSource}); set JETSTREAM_RELAY_TOKEN or pass --token-file PATH`;
      return new CliError(`the relay refused ${what} (${status})${suffix}`, ExitCode.authRefused, hint);
    }
    if (response.status === 429 && errorCode(text) === "too-many-failed-logins") {
      const hint = `the relay slows a client that sent wrong admin tokens; check that ${this.target.tokenSource} holds the relay's ADMIN_TOKEN, then try again after the wait`;
      return new CliError(`the relay refused ${what} (${status})${suffix}`, ExitCode.authRefused, hint);
    }
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.location;
      return new CliError(
        `the relay URL redirects: ${what} answered ${status}${location ? ` to ${location}` : ""}`,
        ExitCode.failure,
        location ? `use the URL it redirects to (without the path) as --url or JETSTREAM_RELAY_URL` : this.urlHint(),
      );
    }
    if (response.status === 404) {
      return new CliError(`not a relay: ${what} at ${this.target.url} answered ${status}${suffix}`, ExitCode.failure, this.urlHint());
    }
    if (response.status >= 500) {
      return new CliError(
        `the relay failed: ${what} answered ${status}${suffix}`,
        ExitCode.failure,
        "it may be restarting or failing; try again in a moment, and see `jetstream-relay logs`",
      );
    }
    return new CliError(`the relay rejected ${what} (${status})${suffix}`, ExitCode.failure);
  }
}

/** The message in a JSON error answer ({"error": …} or {"message": …}), else a short excerpt of the text. */
/** The relay's error code (`{"code": …}` of its error answers), if the text is one. */
function errorCode(text: string): string | null {
  try {
    const body = JSON.parse(text) as { code?: unknown };
    return typeof body.code === "string" ? body.code : null;
  } catch {
    return null;
  }
}

export function serverMessage(text: string): string {
  if (!text.trim()) return "";
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const parts = [body.error, body.message, body.hint].filter((part): part is string => typeof part === "string" && part !== "");
    if (parts.length) return [...new Set(parts)].join(" — ");
  } catch {
    // not JSON: fall through
  }
  return describeText(text);
}

function describeText(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  if (!flat) return "empty";
  return JSON.stringify(flat.length > 80 ? `${flat.slice(0, 77)}...` : flat);
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}
