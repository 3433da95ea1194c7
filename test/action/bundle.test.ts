/**
 * The committed bundle (action/lib) and the generated code reference
 * (docs/codes.md) are what users run and read: both must be exactly what the
 * sources build today.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { BUNDLE_DIR, BUNDLE_FILES, buildActionBundle, CODES_REFERENCE, codesReferenceText, REBUILD_COMMAND, REPO_ROOT } from '../../src/action/bundle.js';

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

describe('the committed Action bundle', () => {
  it('is byte-identical to a fresh build of the sources, twice over', async () => {
    const first = mkdtempSync(path.join(tmpdir(), 'joch-bundle-'));
    const second = mkdtempSync(path.join(tmpdir(), 'joch-bundle-'));
    try {
      await buildActionBundle(first);
      await buildActionBundle(second);
      for (const file of BUNDLE_FILES) {
        const fresh = read(path.join(first, file));
        expect(read(path.join(second, file)) === fresh, `${file}: two builds differ`).toBe(true);
        const committed = read(path.join(REPO_ROOT, BUNDLE_DIR, file));
        // Compared as a boolean: a diff of 3 MB of bundle helps nobody; the message says what to do.
        expect(committed === fresh, `${BUNDLE_DIR}/${file} is stale: run \`${REBUILD_COMMAND}\` and commit the result`).toBe(true);
      }
    } finally {
      rmSync(first, { recursive: true, force: true });
      rmSync(second, { recursive: true, force: true });
    }
  });

  it('has a code reference that matches the diagnostic codes', () => {
    expect(read(path.join(REPO_ROOT, CODES_REFERENCE)) === codesReferenceText(), `${CODES_REFERENCE} is stale: run \`${REBUILD_COMMAND}\` and commit the result`).toBe(true);
  });
});
