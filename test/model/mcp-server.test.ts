/**
 * What "pinned" means for an MCPServer: policy (the production baseline) and
 * the AgBOM both read it from here.
 */
import { describe, expect, it } from 'vitest';
import { declaredPinnedVersion, pinnedServerVersion } from '../../src/model/mcp-server.js';
import type { Resource } from '../../src/model/resource.js';

const server = (security: unknown): Resource => ({ spec: security === undefined ? {} : { security } }) as unknown as Resource;

describe('MCPServer pinning', () => {
  it.each([
    ['a version, pinning on', { pinServerVersion: true, pinnedVersion: '1.4.2' }, '1.4.2', '1.4.2'],
    ['a version YAML read as a number', { pinServerVersion: true, pinnedVersion: 1.2 }, '1.2', '1.2'],
    ['a version, pinning off', { pinServerVersion: false, pinnedVersion: '1.4.2' }, undefined, '1.4.2'],
    ['pinning on, no version', { pinServerVersion: true }, undefined, undefined],
    ['pinning on, a blank version', { pinServerVersion: true, pinnedVersion: '  ' }, undefined, undefined],
    ['pinning given as a string', { pinServerVersion: 'true', pinnedVersion: '1.4.2' }, undefined, '1.4.2'],
    ['no security block', undefined, undefined, undefined],
    ['a security block that is not a mapping', ['pinServerVersion'], undefined, undefined],
  ])('%s', (_what, security, pinned, declared) => {
    expect(pinnedServerVersion(server(security))).toBe(pinned);
    expect(declaredPinnedVersion(server(security))).toBe(declared);
  });
});
