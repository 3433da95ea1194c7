/**
 * Facts about an MCPServer that more than one stage judges: policy (the
 * production baseline requires a pinned server) and the AgBOM (which records
 * the pinned version) must agree on what "pinned" means.
 */
import type { Resource } from './resource.js';

/**
 * The version the server declares it is pinned to, whether pinning is on or
 * not. YAML reads `pinnedVersion: 1.2` as a number (the schema then reports
 * it); as a version it is all the same.
 */
export function declaredPinnedVersion(server: Resource): string | undefined {
  const v = securityOf(server)?.['pinnedVersion'];
  if (typeof v === 'string' && v.trim() !== '') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

/** The version the server is pinned to: only when pinning is on and names one. */
export function pinnedServerVersion(server: Resource): string | undefined {
  return securityOf(server)?.['pinServerVersion'] === true ? declaredPinnedVersion(server) : undefined;
}

function securityOf(server: Resource): Record<string, unknown> | undefined {
  const security = server.spec['security'];
  return security && typeof security === 'object' && !Array.isArray(security) ? (security as Record<string, unknown>) : undefined;
}
