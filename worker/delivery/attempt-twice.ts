import { errorMessage } from "../errors.ts";
/** Runs an operation, once more if it fails; false (and a log line) if both fail. */
export async function twice(operation: () => Promise<unknown>, what: string): Promise<boolean> {
  return (await twiceOrWhy(operation, what)) === null;
}

/** Like `twice`, saying why: null when the operation succeeded, else the last error's message. */
export async function twiceOrWhy(operation: () => Promise<unknown>, what: string): Promise<string | null> {
  for (let attempt = 1; ; attempt++) {
    try {
      await operation();
      return null;
    } catch (error) {
      if (attempt === 2) {
        console.error(`jetstream-relay delivery: could not ${what}: ${errorMessage(error)}`);
        return errorMessage(error);
      }
    }
  }
}
