/** Compile options and their defaults. */
import { applySetId, defaultApplySetParent } from '../model/applyset.js';
import type { CompileOptions, DataPlaneOptions } from './types.js';

/**
 * The Joch services as the Joch Helm chart installs them (docs/architecture/
 * service-architecture.md: joch-server, joch-gateway for tools, MCP and the
 * secret broker, joch-router, joch-memory for memory and RAG, joch-trace).
 * Service names follow the FrameworkAdapter examples in the Joch docs.
 */
export const DEFAULT_DATA_PLANE: DataPlaneOptions = {
  namespace: 'joch-system',
  components: {
    server: 'joch-server',
    gateway: 'joch-gateway',
    router: 'joch-router',
    memory: 'joch-memory',
    trace: 'joch-trace',
  },
  urls: {
    server: 'http://joch-server.joch-system.svc',
    toolGateway: 'http://joch-tool-gateway.joch-system.svc',
    mcpGateway: 'http://joch-mcp-gateway.joch-system.svc',
    router: 'http://joch-router.joch-system.svc',
    memory: 'http://joch-memory.joch-system.svc',
    trace: 'http://joch-trace.joch-system.svc:4318',
    agbom: 'http://joch-server.joch-system.svc',
  },
};

export function defaultCompileOptions(): CompileOptions {
  return {
    applySetId: applySetId(defaultApplySetParent()),
    requirePolicyBundles: true,
    crds: true,
    dataPlane: DEFAULT_DATA_PLANE,
    healthPort: 8080,
    identityAudience: 'joch.dev',
  };
}

export function compileOptions(overrides: Partial<CompileOptions> = {}): CompileOptions {
  return { ...defaultCompileOptions(), ...overrides };
}
