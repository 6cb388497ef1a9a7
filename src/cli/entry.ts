// Development entry point: `node --import tsx src/cli/entry.ts …` runs the CLI from source
// (tests that need a real process, e.g. to SIGKILL it, use this; users run bin/vault-ops.js).
import { main } from './main.js';
import { quietKnownWarnings } from './warnings.js';

quietKnownWarnings();
process.exitCode = await main(process.argv);
