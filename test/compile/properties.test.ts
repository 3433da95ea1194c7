/**
 * Properties of the compile output: determinism, Kubernetes-schema validity
 * of every built-in object, no secret values, incremental rebuilds, and the
 * guards (findings) for what Kubernetes would reject.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { compile, createCompiler, renderFiles, renderStream, type CompileInput, type CompileOutput, type CompiledObject } from '../../src/compile/index.js';
import { looksSecret } from '../../src/diagnostics/redact.js';
import { kubernetesLabelName, kubernetesName } from '../../src/model/names.js';
import { generateFleet } from '../../bench/fleet.js';
import { FLEET, ROOT, copyFleet, find, get, loadFleet, withBundles } from './helpers.js';

let input: CompileInput;
let out: CompileOutput;

beforeAll(async () => {
  input = withBundles(await loadFleet(FLEET));
  out = compile(input);
});

afterEach(() => {
  vi.useRealTimers();
});

const bytes = (o: CompileOutput) => renderFiles(o).map((f) => `${f.path}\n${f.content}`).join('\0');

describe('determinism', () => {
  it('gives byte-identical output for two runs, whatever the clock says', () => {
    vi.useFakeTimers({ now: new Date('2031-01-01T00:00:00Z') });
    const again = compile(input);
    vi.useRealTimers();
    expect(bytes(again)).toBe(bytes(out));
    expect(renderStream(again.objects)).toBe(renderStream(out.objects));
  });

  it('does not depend on where joch runs from or on the order resources arrive in', async () => {
    const fromFleet = withBundles(await loadFleet('.', FLEET));
    expect(fromFleet.resources[0]?.file).not.toBe(input.resources[0]?.file);
    expect(bytes(compile(fromFleet))).toBe(bytes(out));
    const shuffled = { ...input, resources: [...input.resources].reverse(), references: [...input.references].reverse() };
    expect(bytes(compile(shuffled))).toBe(bytes(out));
  });

  it('emits objects in a stable apply order: CRDs, namespaces, cluster objects, then namespaced', () => {
    const kinds = out.objects.map((o) => o.object.kind);
    const firstNamespaced = out.objects.findIndex((o) => o.object.metadata.namespace !== undefined);
    expect(kinds.lastIndexOf('CustomResourceDefinition')).toBeLessThan(kinds.indexOf('Namespace'));
    expect(kinds.lastIndexOf('Namespace')).toBeLessThan(firstNamespaced);
    expect(out.objects.slice(firstNamespaced).every((o) => o.object.metadata.namespace !== undefined)).toBe(true);
    const ns = out.objects.slice(firstNamespaced).map((o) => o.object.metadata.namespace as string);
    expect(ns).toEqual([...ns].sort());
    // Within a namespace, identities before workloads.
    const fin = out.objects.filter((o) => o.object.metadata.namespace === 'finance-ops').map((o) => o.object.kind);
    expect(fin.indexOf('ServiceAccount')).toBeLessThan(fin.indexOf('Deployment'));
    expect(fin.indexOf('ConfigMap')).toBeLessThan(fin.indexOf('CronJob'));
  });
});

describe('Kubernetes schema validity', () => {
  type Model = new (data: unknown) => { validate(): void };
  async function modelFor(o: CompiledObject): Promise<Model> {
    const [group, version] = o.object.apiVersion.includes('/') ? o.object.apiVersion.split('/') : ['', o.object.apiVersion];
    const mod = (await import(`kubernetes-models/${group ? `${group}/` : ''}${version}`)) as Record<string, Model>;
    const model = mod[o.object.kind];
    if (!model) throw new Error(`kubernetes-models has no ${o.object.apiVersion} ${o.object.kind}`);
    return model;
  }

  it('validates every built-in object against the Kubernetes OpenAPI schemas (kubernetes-models)', async () => {
    const builtIns = out.objects.filter((o) => !o.object.apiVersion.includes('joch.dev/'));
    expect(builtIns.length).toBeGreaterThan(90);
    const failures: string[] = [];
    for (const o of builtIns) {
      const Model = await modelFor(o);
      try {
        new Model(o.object).validate();
      } catch (e) {
        failures.push(`${o.object.kind} ${o.object.metadata.name}: ${(e as Error).message}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('validates every built-in object of a generated fleet (every adapter, MCP server and side-effect class)', async () => {
    const parent = mkdtempSync(path.join(tmpdir(), 'joch-gen-'));
    onTestFinished(() => rmSync(parent, { recursive: true, force: true }));
    const dir = path.join(parent, 'fleet');
    generateFleet(dir, 12);
    const generated = withBundles(await loadFleet(dir));
    expect(generated.errors).toBe(0);
    const compiled = compile(generated);
    expect(compiled.findings).toEqual([]);
    expect(compiled.manifests).toHaveLength(12);
    for (const o of compiled.objects.filter((x) => !x.object.apiVersion.includes('joch.dev/'))) {
      const Model = await modelFor(o);
      expect(() => new Model(o.object).validate(), `${o.object.kind} ${o.object.metadata.name}`).not.toThrow();
    }
  });

  it('the validation catches a broken object (the check can fail)', async () => {
    const d = out.objects.find((o) => o.object.apiVersion === 'apps/v1') as CompiledObject;
    const Model = await modelFor(d);
    const broken = structuredClone(d.object);
    (broken.spec as Record<string, unknown>).replicas = 'three';
    expect(() => new Model(broken).validate()).toThrow(/replicas/);
  });

  it('uses only valid Kubernetes names', () => {
    for (const { object } of out.objects) {
      const labelNamed = ['Deployment', 'Job', 'ServiceAccount', 'NetworkPolicy', 'ConfigMap', 'Namespace'].includes(object.kind) && !object.apiVersion.includes('joch.dev');
      expect(object.metadata.name, object.kind).toMatch(labelNamed ? /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/ : /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/);
    }
  });
});

describe('names', () => {
  it('maps Joch names stably and without collisions', () => {
    const names = ['zendesk.create_ticket', 'zendesk.create-ticket', 'Zendesk.Create_Ticket', 'a_b', 'a-b', 'a..b', 'x'.repeat(300)];
    const mapped = names.map((n) => kubernetesName(n));
    expect(new Set(mapped).size).toBe(names.length);
    expect(names.map((n) => kubernetesName(n))).toEqual(mapped);
    expect(kubernetesName('zendesk.create-ticket')).toBe('zendesk.create-ticket');
    expect(kubernetesLabelName('a.b', 'manifest')).not.toBe(kubernetesLabelName('a-b', 'manifest'));
  });
});

describe('secrets', () => {
  it('never emits a secret value: no Secret objects, nothing credential-shaped, no environment value read', async () => {
    const sentinel = 'sk-proj-SENTINELSENTINELSENTINEL0123456789';
    const fleet = copyFleet(FLEET, {
      'support-platform/env-secret.yaml': [
        'apiVersion: ops.joch.dev/v1alpha1',
        'kind: Secret',
        'metadata:',
        '  name: dev-token',
        '  namespace: support-platform',
        'spec:',
        '  source:',
        '    type: env',
        '    name: JOCH_TEST_DEV_TOKEN',
        '',
      ].join('\n'),
      'support-platform/tools/slack.yaml': (t) => t.replace('name: slack-bot-token', 'name: dev-token'),
    });
    vi.stubEnv('JOCH_TEST_DEV_TOKEN', sentinel);
    try {
      const loaded = withBundles(await loadFleet(fleet));
      expect(loaded.errors).toBe(0);
      const compiled = compile(loaded);
      const text = bytes(compiled);
      expect(text).not.toContain(sentinel);
      expect(text).toContain('JOCH_TEST_DEV_TOKEN');
      expect(compiled.objects.some((o) => o.object.kind === 'Secret' && o.object.apiVersion === 'v1')).toBe(false);
      const strings: string[] = [];
      const walk = (v: unknown): void => {
        if (typeof v === 'string') strings.push(v);
        else if (v && typeof v === 'object') Object.values(v).forEach(walk);
      };
      walk(compiled.objects.map((o) => o.object));
      walk(compiled.manifests.map((m) => m.manifest));
      expect(strings.filter(looksSecret)).toEqual([]);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe('incremental compilation', () => {
  it('rebuilds only the units a one-file change reaches, with the same result as a fresh compile', async () => {
    const fleet = copyFleet(FLEET);
    const compiler = createCompiler();
    const first = compiler.compile(withBundles(await loadFleet(fleet)));
    expect(first.stats.built).toBe(first.stats.units);
    const unchanged = compiler.compile(withBundles(await loadFleet(fleet)));
    expect(unchanged.stats.built).toBe(1); // the shared unit (namespaces, team and secret access) is always rebuilt
    expect(bytes(unchanged)).toBe(bytes(first));

    const file = path.join(fleet, 'research/research.yaml');
    const { readFileSync } = await import('node:fs');
    writeFileSync(file, readFileSync(file, 'utf8').replace('Researches markets', 'Researches market trends'));
    const changed = withBundles(await loadFleet(fleet));
    const next = compiler.compile(changed);
    // Hashes are per document: the Agent's custom resource, the agent unit and the shared one,
    // not the ten other documents of the same file.
    expect(next.stats.built).toBe(3);
    expect(bytes(next)).toBe(bytes(compile(changed)));
    expect(bytes(next)).not.toBe(bytes(first));
  });

  it('rebuilds an agent when a resource it uses changes, and only that agent', async () => {
    const fleet = copyFleet(FLEET);
    const compiler = createCompiler();
    compiler.compile(withBundles(await loadFleet(fleet)));
    const file = path.join(fleet, 'support-platform/tools/slack.yaml');
    const { readFileSync } = await import('node:fs');
    writeFileSync(file, readFileSync(file, 'utf8').replace('callsPerMinute: 20', 'callsPerMinute: 25'));
    const next = compiler.compile(withBundles(await loadFleet(fleet)));
    // slack.send's custom resource, its one agent (support-triage), the shared unit.
    expect(next.stats.built).toBe(3);
  });
});

describe('what Kubernetes would reject or cannot express', () => {
  async function compileEdited(edits: Record<string, string | ((old: string) => string)>) {
    const loaded = withBundles(await loadFleet(copyFleet(FLEET, edits)));
    expect(loaded.errors).toBe(0);
    return compile(loaded);
  }
  const codes = (o: CompileOutput) => o.findings.map((f) => f.code);

  it('refuses canary rather than rolling it out to everyone', async () => {
    const o = await compileEdited({ 'finance-ops/billing.yaml': (t) => t.replace('strategy: rolling', 'strategy: canary') });
    expect(o.findings.map((f) => [f.code, f.severity])).toEqual([['JOCH902', 'error']]);
  });

  it('raises minReplicas 0 to 1 and refuses min above max', async () => {
    const zero = await compileEdited({ 'support-platform/deployments.yaml': (t) => t.replace('minReplicas: 2', 'minReplicas: 0') });
    expect(codes(zero)).toEqual(['JOCH908']);
    expect(get(find(zero.objects, 'autoscaling/v2', 'HorizontalPodAutoscaler', 'support-triage-prod', 'support-platform'), 'spec', 'minReplicas')).toBe(1);
    const inverted = await compileEdited({ 'support-platform/deployments.yaml': (t) => t.replace('minReplicas: 2', 'minReplicas: 20') });
    expect(codes(inverted)).toEqual(['JOCH903']);
  });

  it('emits only the custom resource of a Deployment that does not run on Kubernetes', async () => {
    const staging = (t: string) => {
      const at = t.indexOf('name: market-researcher-staging');
      return t.slice(0, at) + t.slice(at).replace('adapter: kubernetes', 'adapter: docker');
    };
    const o = await compileEdited({ 'research/research.yaml': staging });
    expect(codes(o)).toEqual(['JOCH905']);
    expect(o.objects.some((x) => x.object.apiVersion === 'apps/v1' && x.object.metadata.name === 'market-researcher-staging')).toBe(false);
    expect(o.objects.some((x) => x.object.apiVersion === 'apps/v1' && x.object.metadata.name === 'market-researcher-dev')).toBe(true);
  });

  it('refuses a workload without an image', async () => {
    const o = await compileEdited({
      'platform/framework-adapters.yaml': (t) => t.replace('  adapterImage: ghcr.io/peasantsai/joch-adapter-langgraph:1.0.0\n', ''),
      'research/research.yaml': (t) => t.replaceAll('    workerImage: ghcr.io/peasantsai/joch-worker:1.0.0\n', ''),
    });
    expect(codes(o)).toEqual(['JOCH901', 'JOCH901']);
  });

  it('reports two objects with the same identity instead of emitting one over the other', async () => {
    // An agent whose ServiceAccount Role would take the name of the gateway's secret-access Role.
    const o = await compileEdited({
      'finance-ops/billing.yaml': (t) => t.replaceAll('billing-agent', 'joch-secrets-joch-gateway'),
    });
    expect(codes(o)).toContain('JOCH904');
    expect(o.findings.find((f) => f.code === 'JOCH904')?.message).toMatch(/Role finance-ops\/joch-secrets-joch-gateway/);
  });
});

describe('the output layout', () => {
  it('writes one file per object under a readable layout, or one stream', () => {
    const files = renderFiles(out);
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining([
      'crds/agents.joch.dev.yaml',
      'objects/_cluster/namespace/support-platform.yaml',
      'objects/support-platform/deployment.apps/support-triage-prod.yaml',
      'objects/support-platform/deployment.ops.joch.dev/support-triage-prod.yaml',
      `objects/support-platform/tool.tools.joch.dev/${kubernetesName('zendesk.create_ticket')}.yaml`,
      'objects/support-platform/configmap/support-triage-manifest.yaml',
      'manifests/support-platform/support-triage.yaml',
    ]));
    expect(new Set(files.map((f) => f.path)).size).toBe(files.length);
    const single = renderFiles(out, { singleFile: true });
    expect(single.map((f) => f.path).filter((p) => !p.startsWith('manifests/'))).toEqual(['objects.yaml']);
    expect(renderFiles(out, { crds: 'only' }).every((f) => f.path.startsWith('crds/'))).toBe(true);
    expect(renderFiles(out, { crds: 'skip' }).some((f) => f.path.startsWith('crds/'))).toBe(false);
    expect(ROOT).toBeTruthy();
  });
});
