// Imported (not read at run time) so that the worker bundle and the bundled CLI in dist/ carry it.
import packageJson from "../package.json" with { type: "json" };

/** The relay's version, from package.json: shown by the API, the dashboard and `jetstream-relay --version`. */
export const VERSION: string = packageJson.version;

/** `User-Agent` of every webhook request. */
export const USER_AGENT = `jetstream-relay/${VERSION}`;
