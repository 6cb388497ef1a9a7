// Development entry point: `node --import tsx src/cli/entry.ts …` runs the CLI from source
// (tests that need a real process, e.g. to SIGKILL it, use this; users run bin/vault-ops.js).
import { launch } from './launch.js';

process.exitCode = await launch(process.argv);
