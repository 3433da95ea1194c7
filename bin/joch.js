#!/usr/bin/env node
// Entry point for `npx joch`. The TypeScript sources are compiled to dist/ by
// `npm install` (the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('joch: dist/ is missing; run `npm install` (or `npm run build`) first\n');
  process.exit(2);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
