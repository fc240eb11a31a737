// Imported (not read at run time) so that the bundled CLI in dist/ carries it too.
import pkg from "../../package.json" with { type: "json" };

export const VERSION: string = pkg.version;
