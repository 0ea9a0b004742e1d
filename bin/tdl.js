#!/usr/bin/env node
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!existsSync(entry)) {
  console.error('tdl is not built yet: run `npm install` (or `npm run build`) in ' + join(__dirname, '..'));
  process.exit(2);
}
// `tdl list | head` closes the pipe early: the reader has what it wanted, so stop quietly.
process.stdout.on('error', (err) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(0);
});
require(entry)
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
