// Development entry point: `node --import tsx src/cli/entry.ts …` runs the CLI from source
// (tests that need a real process, e.g. to SIGKILL it, use this; users run bin/vault-ops.js).
// The young generation is capped before anything else is loaded (see young-generation.ts).
import { keepYoungGenerationSmall } from './young-generation.js';

keepYoungGenerationSmall();
const { quietKnownWarnings } = await import('./warnings.js');
const { main } = await import('./main.js');
quietKnownWarnings();
process.exitCode = await main(process.argv);
