#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
import { quietKnownWarnings } from '../dist/cli/warnings.js';
import { main } from '../dist/cli/main.js';

quietKnownWarnings();
process.exitCode = await main(process.argv);
