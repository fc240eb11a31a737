/** Help text shared by the commands: exit codes, where the URL and token come from, non-interactive use. */

export const EXIT_CODES_HELP = `
Exit codes:
  0    ok
  1    failure (relay unreachable, timeout, not a relay, relay error)
  2    usage (bad flag or argument, no relay URL, confirmation needed but no terminal)
  3    reachable but unhealthy
  4    the relay refused the admin token (401/403, or 429 after repeated wrong tokens)
  130  interrupted (Ctrl-C)`;

export const TARGET_HELP = `
Where it talks to:
  URL:   --url  >  $JETSTREAM_RELAY_URL  >  "url" in ./jetstream-relay.json (written by deploy)
  Token: --token-file PATH  >  $JETSTREAM_RELAY_TOKEN  >  ./.jetstream-relay/admin-token.json (written by init,
         bound by deploy to the relay's URL, sent to no other). Never a flag value, never printed, sent only
         over https:// or to this machine; jetstream-relay.json never says where a secret is.`;

/** The "after" help of a command: examples, non-interactive usage, then exit codes and targets. */
export function commandHelp(parts: { examples: string[]; nonInteractive: string[] }): string {
  return [
    "",
    "Examples:",
    ...parts.examples.map((line) => `  ${line}`),
    "",
    "Non-interactive usage (CI, scripts):",
    ...parts.nonInteractive.map((line) => `  ${line}`),
    TARGET_HELP,
    EXIT_CODES_HELP,
  ].join("\n");
}
