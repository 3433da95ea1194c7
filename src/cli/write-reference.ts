/** `npm run docs:cli`: rewrites docs/CLI.md from the command definitions. */
import { writeFileSync } from 'node:fs';
import { renderReference } from './reference.js';

writeFileSync(new URL('../../docs/CLI.md', import.meta.url), renderReference());
