import { execFileSync } from 'node:child_process';

/** CLI tests run the real `bin/joch.js`, which loads dist/: build it once, incrementally. */
export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
}
