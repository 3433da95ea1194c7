#!/usr/bin/env node
// Entry point of the `joch` command. It runs the compiled dist/ only: the
// published package ships it, and in a checkout `npm ci` builds it (the
// `prepare` script).
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// An older Node fails deep inside a dependency with a message that names
// neither joch nor Node; say so up front instead.
const { engines } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const [wantMajor, wantMinor] = engines.node.replace(/^>=\s*/, '').split('.').map(Number);
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < wantMajor || (major === wantMajor && minor < (wantMinor ?? 0))) {
  process.stderr.write(`joch: Node.js ${engines.node} is required; this is ${process.version}\n`);
  process.exit(2);
}

// A reader that stops early (`joch compile --stdout | head -1`) closes the
// pipe: that is the reader's choice, not an error, so end quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  process.stderr.write('joch: dist/ is missing; in a checkout, run `npm ci` (or `npm run build`) first\n');
  process.exit(2);
}
const { runCli } = await import(main.href);
process.exitCode = await runCli(process.argv.slice(2));
