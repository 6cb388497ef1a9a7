#!/usr/bin/env node
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
import { launch } from '../dist/cli/launch.js';

process.exitCode = await launch(process.argv);
