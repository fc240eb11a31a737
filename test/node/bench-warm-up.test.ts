// The bench's warm-up event (bench/warm-up.ts): the identity event when the server sends it, else the first wanted event.
import { expect, test } from "vitest";
import { warmUpAndFlood } from "../../bench/warm-up.ts";

const mixed = ["identity", "skip", "want-1", "want-2"];
const wanted = (raw: string) => raw.startsWith("want");

test.each([
  [true, "identity", "skip, want-1, want-2"],
  [false, "want-1", "skip, want-2"],
])("identity sent: %s → warm-up %s, flood %s", (identitySent, warmUp, events) => {
  const flood = warmUpAndFlood(mixed, wanted, identitySent);
  expect(flood.warmUp).toBe(warmUp);
  expect(flood.events.join(", ")).toBe(events);
});
