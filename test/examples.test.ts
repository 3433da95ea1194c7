/**
 * examples/fleet is the reference repository: it must stay clean and keep
 * showing every core kind, several teams and a staged rollout.
 */
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runValidate, type ValidationRun } from '../src/pipeline/index.js';

const ROOT = path.resolve(import.meta.dirname, '..');

const CORE_KINDS = [
  'Agent',
  'FrameworkAdapter',
  'Model',
  'ModelRoute',
  'Tool',
  'MCPServer',
  'Memory',
  'RAG',
  'KnowledgeSource',
  'Policy',
  'Deployment',
  'Environment',
  'Team',
  'Budget',
  'Eval',
  'AgBOM',
  'Secret',
  'Execution',
];

describe('examples/fleet', () => {
  let run: ValidationRun;

  beforeAll(async () => {
    run = await runValidate({ paths: ['examples/fleet'], cwd: ROOT });
  });

  it('validates with every check: no error, no warning', () => {
    const problems = run.diagnostics.filter((d) => d.severity !== 'info');
    expect(problems.map((d) => `${d.code} ${d.file}:${d.line}:${d.column} ${d.message}`)).toEqual([]);
    expect(run.summary).toMatchObject({ errors: 0, warnings: 0 });
    // The one name Kubernetes does not accept is the documented example.
    const mapped = run.diagnostics.filter((d) => d.code === 'JOCH401');
    expect(mapped.map((d) => d.resource)).toEqual([{ kind: 'Tool', namespace: 'support-platform', name: 'zendesk.create_ticket' }]);
  });

  it('reads its joch.yaml', () => {
    expect(run.project.config.file).toBe('examples/fleet/joch.yaml');
    expect(run.project.config.config.defaultNamespace).toBe('platform');
    expect(run.snapshot.files.map((f) => f.path)).not.toContain('joch.yaml');
  });

  it('has every core kind', () => {
    const kinds = new Set(run.set.resources.map((r) => r.kind));
    expect(CORE_KINDS.filter((k) => !kinds.has(k))).toEqual([]);
  });

  it('spans several namespaces, with namespaced resources in each team\'s', () => {
    const namespaces = new Set(run.set.resources.map((r) => r.namespace).filter((n) => n !== undefined));
    expect([...namespaces].sort()).toEqual(expect.arrayContaining(['finance-ops', 'platform', 'research', 'support-platform']));
    const agentsByNamespace = new Set(run.set.resources.filter((r) => r.kind === 'Agent').map((r) => r.namespace));
    expect(agentsByNamespace.size).toBeGreaterThanOrEqual(3);
  });

  it('deploys to both staging and prod, and every reference resolves', () => {
    const deployments = run.validation.references.filter((r) => r.from.startsWith('Deployment/') && r.kind === 'Environment');
    const targets = new Set(deployments.map((r) => r.to));
    expect(targets).toContain('Environment//staging');
    expect(targets).toContain('Environment//prod');
    // The same agent is deployed to both.
    const agentOf = (from: string) => run.validation.references.find((r) => r.from === from && r.kind === 'Agent')?.to;
    const staged = deployments.filter((d) => d.to === 'Environment//staging').map((d) => agentOf(d.from));
    const prod = deployments.filter((d) => d.to === 'Environment//prod').map((d) => agentOf(d.from));
    expect(staged.filter((a) => prod.includes(a)).length).toBeGreaterThan(0);
    expect(run.validation.references.filter((r) => r.to === undefined)).toEqual([]);
    expect(run.validation.references.length).toBeGreaterThan(50);
  });
});
