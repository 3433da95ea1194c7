import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { buildCliBundle, CLI_BUNDLE_DIR, REPO_ROOT } from '../src/cli/bundle.js';

/**
 * CLI tests run the real `bin/joch.js`, which runs dist/bundle: build dist/
 * once, incrementally, then the bundle from the sources.
 */
export default async function setup(): Promise<void> {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  await buildCliBundle(path.join(REPO_ROOT, CLI_BUNDLE_DIR));
}
