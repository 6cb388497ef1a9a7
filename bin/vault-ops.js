#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
// The young generation is capped before anything else is loaded (see dist/cli/young-generation.js).
import { keepYoungGenerationSmall } from '../dist/cli/young-generation.js';

keepYoungGenerationSmall();
const { quietKnownWarnings } = await import('../dist/cli/warnings.js');
const { main } = await import('../dist/cli/main.js');
quietKnownWarnings();
process.exitCode = await main(process.argv);
