/**
 * The identity pass: names as Kubernetes sees them, labels and annotations
 * Kubernetes accepts, no resource defined twice, and namespaces.
 */
import { describe, expect, it } from 'vitest';
import { kubernetesName } from '../../src/model/names.js';
import type { Check } from '../../src/schema/index.js';
import { at, only, tmpRepo, validate, yml } from '../support/repo.js';

const IDENTITY: ReadonlySet<Check> = new Set<Check>(['schema', 'identity']);

/** A valid Policy named `name`; metadata lines may be added after the name (line 4). */
function policy(name: string, ...metadata: string[]): string {
  return [
    'apiVersion: joch.dev/v1alpha1',
    'kind: Policy',
    'metadata:',
    `  name: ${name}`,
    ...metadata.map((l) => `  ${l}`),
    'spec:',
    '  rules:',
    '    - when: {tool.sideEffect: external_write}',
    '      action: deny',
    '',
  ].join('\n');
}

describe('Kubernetes names (JOCH401)', () => {
  it('maps a name Kubernetes does not accept, as a note naming the mapped name', async () => {
    const repo = tmpRepo({ 'p.yaml': policy('zendesk.create_ticket', 'namespace: support') });
    const run = await validate(repo, { checks: IDENTITY });
    const d = only(run.diagnostics, 'JOCH401');
    const mapped = kubernetesName('zendesk.create_ticket');
    expect(mapped).toMatch(/^zendesk\.create-ticket-[0-9a-f]{8}$/);
    expect(at(d)).toBe('JOCH401 p.yaml:4:9');
    expect(d).toMatchObject({
      severity: 'info',
      message: `"zendesk.create_ticket" is not a valid Kubernetes name; it is compiled as "${mapped}" (the original is kept in the joch.dev/name annotation)`,
      resource: { kind: 'Policy', namespace: 'support', name: 'zendesk.create_ticket' },
    });
    expect(run.diagnostics).toHaveLength(1);
  });

  it('leaves a valid name alone', async () => {
    const repo = tmpRepo({ 'p.yaml': policy('support.triage-v2') });
    const run = await validate(repo, { checks: IDENTITY });
    expect(run.diagnostics).toEqual([]);
    expect(kubernetesName('support.triage-v2')).toBe('support.triage-v2');
  });

  it('is stable: the same name maps to the same Kubernetes name in every run', async () => {
    const first = tmpRepo({ 'a.yaml': policy('My_Agent') });
    const second = tmpRepo({ 'nested/b.yaml': policy('My_Agent', 'namespace: other') });
    const a = only((await validate(first, { checks: IDENTITY })).diagnostics, 'JOCH401');
    const b = only((await validate(second, { checks: IDENTITY })).diagnostics, 'JOCH401');
    const compiledAs = (m: string) => /compiled as "([^"]+)"/.exec(m)?.[1];
    expect(compiledAs(a.message)).toBe(kubernetesName('My_Agent'));
    expect(compiledAs(b.message)).toBe(compiledAs(a.message));
  });

  it('is collision-free: names differing only by case or separator map to different names', async () => {
    const names = ['My_Agent', 'my_agent', 'MY_AGENT', 'my__agent', 'My_Agent.', 'my-Agent'];
    const repo = tmpRepo({ 'p.yaml': names.filter((n) => !n.endsWith('.')).map((n) => policy(n)).join('---\n') });
    const run = await validate(repo, { checks: IDENTITY });
    const mapped = run.diagnostics.filter((d) => d.code === 'JOCH401').map((d) => /compiled as "([^"]+)"/.exec(d.message)?.[1]);
    expect(mapped).toHaveLength(5);
    expect(new Set(mapped).size).toBe(5);
    for (const m of mapped) expect(m).toMatch(/^my-agent-[0-9a-f]{8}$/);
    expect(run.diagnostics.filter((d) => d.code === 'JOCH405')).toEqual([]);
    // Also for names the schema refuses: the mapping itself never merges two names.
    expect(new Set(names.map(kubernetesName)).size).toBe(names.length);
  });

  it('reports a valid name that equals another name\'s mapped form (JOCH405), with the other as related', async () => {
    const taken = kubernetesName('My_Agent');
    const repo = tmpRepo({ 'a.yaml': policy('My_Agent'), 'b.yaml': policy(taken) });
    const run = await validate(repo, { checks: IDENTITY });
    const d = only(run.diagnostics, 'JOCH405');
    expect(at(d)).toBe('JOCH405 b.yaml:4:9');
    expect(d.message).toBe(`"${taken}" and "My_Agent" both compile to the Kubernetes name "${taken}"`);
    expect(d.related).toEqual([expect.objectContaining({ file: 'a.yaml', line: 4, column: 9, message: 'the other one' })]);
  });
});

describe('labels and annotations', () => {
  it('reports an invalid label key and an invalid label value at the key (JOCH403)', async () => {
    const repo = tmpRepo({
      'p.yaml': policy('p', 'labels:', '  good: yes-1', '  "bad key": x', '  team: "has space"', `  long: ${'a'.repeat(64)}`, '  example.com/ok: v'),
    });
    const run = await validate(repo, { checks: IDENTITY });
    expect(run.diagnostics.map((d) => `${at(d)} ${d.message}`)).toEqual([
      'JOCH403 p.yaml:7:5 label "bad key" is not valid in Kubernetes: its name part must be letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
      'JOCH403 p.yaml:8:5 label "team" is not valid in Kubernetes: its value must be letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
      'JOCH403 p.yaml:9:5 label "long" is not valid in Kubernetes: its value is longer than 63 characters',
    ]);
    for (const d of run.diagnostics) expect(d.severity).toBe('error');
  });

  it('reports an invalid annotation key at the key (JOCH406), whatever the value', async () => {
    const repo = tmpRepo({
      'p.yaml': policy('p', 'annotations:', '  a/b/c: x', '  Bad_Prefix/name: y', '  joch.dev/owner: "any value, even with spaces"', '  -lead: z'),
    });
    const run = await validate(repo, { checks: IDENTITY });
    expect(run.diagnostics.map((d) => `${at(d)} ${d.message}`)).toEqual([
      'JOCH406 p.yaml:6:5 annotation "a/b/c" is not valid in Kubernetes: it has more than one "/"',
      'JOCH406 p.yaml:7:5 annotation "Bad_Prefix/name" is not valid in Kubernetes: its prefix "Bad_Prefix" is not a DNS subdomain',
      'JOCH406 p.yaml:9:5 annotation "-lead" is not valid in Kubernetes: its name part must be letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
    ]);
  });
});

describe('duplicates and namespaces', () => {
  it('reports a resource defined in two files on the later file, related to the first (JOCH404)', async () => {
    const repo = tmpRepo({
      'a/first.yaml': `# the original\n${policy('dup', 'namespace: team')}`,
      'b/second.yaml': policy('dup', 'namespace: team'),
      // Same name, other namespace: another resource.
      'c/third.yaml': policy('dup', 'namespace: other'),
    });
    const run = await validate(repo, { checks: IDENTITY });
    const d = only(run.diagnostics, 'JOCH404');
    expect(at(d)).toBe('JOCH404 b/second.yaml:4:9');
    expect(d).toMatchObject({ severity: 'error', message: 'Policy team/dup is defined twice', resource: { kind: 'Policy', namespace: 'team', name: 'dup' } });
    expect(d.related).toEqual([{ file: 'a/first.yaml', line: 5, column: 9, endLine: 5, endColumn: 12, message: 'first defined here' }]);
    expect(run.diagnostics).toHaveLength(1);
  });

  it('reports two documents of one file that are the same resource', async () => {
    const repo = tmpRepo({ 'p.yaml': `${policy('twice')}---\n${policy('twice')}` });
    const run = await validate(repo, { checks: IDENTITY });
    const d = only(run.diagnostics, 'JOCH404');
    expect(at(d)).toBe('JOCH404 p.yaml:13:9');
    expect(d.related?.[0]).toMatchObject({ file: 'p.yaml', line: 4, column: 9 });
  });

  it('warns that a namespace on a cluster-scoped kind is ignored (JOCH402), at the namespace key', async () => {
    const repo = tmpRepo({
      'env.yaml': yml`
        apiVersion: ops.joch.dev/v1alpha1
        kind: Environment
        metadata:
          name: prod
          namespace: platform
        spec:
          region: eu-central
      `,
    });
    const run = await validate(repo, { checks: IDENTITY });
    const d = only(run.diagnostics, 'JOCH402');
    expect(at(d)).toBe('JOCH402 env.yaml:5:3');
    expect(d).toMatchObject({ severity: 'warning', message: 'Environment is cluster-scoped; metadata.namespace "platform" is ignored' });
    expect(run.set.resources[0]).toMatchObject({ key: 'Environment//prod', namespace: undefined });
  });

  it('applies the default namespace of joch.yaml to namespaced resources that name none', async () => {
    const repo = tmpRepo({
      'joch.yaml': 'defaultNamespace: team-a\n',
      'implicit.yaml': policy('Implicit_Name'),
      'explicit.yaml': policy('same', 'namespace: team-a'),
      'defaulted.yaml': policy('same'),
    });
    const run = await validate(repo, { checks: IDENTITY });
    const implicit = run.set.resources.find((r) => r.file === 'implicit.yaml');
    expect(implicit).toMatchObject({ namespace: 'team-a', namespaceDefaulted: true, key: 'Policy/team-a/Implicit_Name' });
    expect(only(run.diagnostics, 'JOCH401').resource).toEqual({ kind: 'Policy', namespace: 'team-a', name: 'Implicit_Name' });
    // Written and defaulted namespaces name the same resource.
    const dup = only(run.diagnostics, 'JOCH404');
    expect(at(dup)).toBe('JOCH404 explicit.yaml:4:9');
    expect(dup.related?.[0]).toMatchObject({ file: 'defaulted.yaml', line: 4 });
  });

  it('uses "default" when joch.yaml names no default namespace', async () => {
    const repo = tmpRepo({ 'p.yaml': policy('p') });
    const run = await validate(repo, { checks: IDENTITY });
    expect(run.set.resources[0]).toMatchObject({ namespace: 'default', namespaceDefaulted: true });
  });
});
