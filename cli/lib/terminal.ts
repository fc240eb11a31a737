/** True when we may ask questions: stdin and stdout are terminals and we are not running in CI. */
export function canPrompt(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(process.stdin.isTTY) && Boolean(process.stdout.isTTY) && !isCi(env);
}

export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI;
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

/** True when stdout is a terminal a person looks at (animation and in-place redraw allowed). */
export function stdoutIsTerminal(): boolean {
  return Boolean(process.stdout.isTTY);
}
