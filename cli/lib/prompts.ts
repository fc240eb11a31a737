import { CliError, ExitCode } from "./exit-codes.ts";

// @clack/prompts is loaded only when a question is actually asked: unattended runs never pay for it.
type Clack = typeof import("@clack/prompts");
let clack: Promise<Clack> | null = null;
const load = () => (clack ??= import("@clack/prompts"));

/** A validator: a message when the answer is not acceptable, null when it is. */
export type Check = (value: string) => string | null;

async function answer<T>(value: Promise<unknown>): Promise<T> {
  const result = await value;
  const { isCancel, cancel } = await load();
  if (isCancel(result)) {
    cancel("Cancelled; nothing more was changed.");
    throw new CliError("cancelled", ExitCode.interrupted);
  }
  return result as T;
}

export async function intro(title: string): Promise<void> {
  (await load()).intro(title);
}

export async function outro(message: string): Promise<void> {
  (await load()).outro(message);
}

export async function note(message: string, title?: string): Promise<void> {
  (await load()).note(message, title);
}

export async function askText(message: string, options: { initial?: string; placeholder?: string; check?: Check; optional?: boolean } = {}): Promise<string> {
  const { text } = await load();
  return (
    await answer<string>(
      text({
        message,
        initialValue: options.initial,
        placeholder: options.placeholder,
        validate: (value) => {
          const v = (value ?? "").trim();
          if (v === "") return options.optional ? undefined : "required";
          return options.check?.(v) ?? undefined;
        },
      }),
    )
  ).trim();
}

/** A hidden answer (a token): never echoed. Empty when optional and skipped. */
export async function askSecret(message: string, options: { optional?: boolean; check?: Check } = {}): Promise<string> {
  const { password } = await load();
  return (
    await answer<string>(
      password({
        message,
        validate: (value) => {
          const v = value ?? "";
          if (v === "") return options.optional ? undefined : "required";
          return options.check?.(v) ?? undefined;
        },
      }),
    )
  ).trim();
}

export async function askConfirm(message: string, initial: boolean): Promise<boolean> {
  const { confirm } = await load();
  return answer<boolean>(confirm({ message, initialValue: initial }));
}

export async function askSelect<T extends string>(message: string, options: { value: T; label: string; hint?: string }[], initial?: T): Promise<T> {
  const { select } = await load();
  return answer<T>(select<T>({ message, options: options as never, initialValue: initial }));
}

/** A spinner on a terminal (stderr would be fine too, but clack draws on stdout, which is the terminal here). */
export async function spinner(): Promise<{ start(message: string): void; message(message: string): void; stop(message: string): void; error(message: string): void }> {
  const s = (await load()).spinner();
  return { start: (m) => s.start(m), message: (m) => s.message(m), stop: (m) => s.stop(m), error: (m) => s.error(m) };
}
