import { errorMessage } from "../errors.ts";
/** Runs an operation, once more if it fails; false (and a log line) if both fail. */
export async function twice(operation: () => Promise<unknown>, what: string): Promise<boolean> {
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      await operation();
      return true;
    } catch (error) {
      if (attempt === 2) console.error(`jetstream-relay delivery: could not ${what}: ${errorMessage(error)}`);
    }
  }
  return false;
}
