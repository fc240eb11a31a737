/**
 * The bench's flood and the event sent before it (once the relay has it, its position is set, so a
 * reconnect during the flood resumes from there). The mix starts with an identity event, which the relay
 * receives and skips; a v2 server asked for commits only never sends it, so there the warm-up is the
 * first wanted event, taken out of the flood (it is still expected at the webhook).
 */
export function warmUpAndFlood(mixed: readonly string[], wanted: (raw: string) => boolean, identitySent: boolean): { warmUp: string; events: string[] } {
  const [identity, ...flood] = mixed;
  if (identitySent) return { warmUp: identity, events: flood };
  const first = flood.findIndex(wanted);
  return { warmUp: flood[first], events: flood.filter((_, i) => i !== first) };
}
