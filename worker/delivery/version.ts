import packageJson from "../../package.json";

/** `User-Agent` of every webhook request. */
export const USER_AGENT = `jetstream-relay/${packageJson.version}`;
