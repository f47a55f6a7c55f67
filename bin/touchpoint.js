#!/usr/bin/env node
/* global __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
// The `touchpoint` CLI (docs/cli.md). It runs the compiled code: `npm run build` first.
const path = require('node:path');
const fs = require('node:fs');

const entry = path.join(__dirname, '..', 'dist', 'cli', 'index.js');
if (!fs.existsSync(entry)) {
  process.stderr.write(
    'touchpoint: the CLI is not built yet; run `npm run build` in the Touchpoint directory\n',
  );
  process.exit(1);
}
require(entry).main();
