/** The promote stage's pure parts: threshold judgement, results parsing, and document edits that keep every other byte. */
import { describe, expect, it } from 'vitest';
import { judgeScores, parseEvalResults } from '../../src/promote/gates.js';
import { appendDocument, documentIndex, documentText, editDocument, replaceDocument, setAnnotations } from '../../src/promote/records.js';
import type { Resource } from '../../src/model/resource.js';

const evalWith = (thresholds: Record<string, unknown>): Resource => ({ spec: { thresholds } }) as unknown as Resource;

describe('Eval thresholds', () => {
  it('reads a number as the lowest passing score and a string as a comparison; a metric without a score fails', () => {
    const ev = evalWith({ quality: 0.8, cost: '<0.40', latency: '<= 3000', recall: '>0.5', floor: '>= 1', missing: 0.1 });
    const verdicts = judgeScores(ev, { quality: 0.8, cost: 0.4, latency: 3000, recall: 0.5, floor: 1 });
    expect(verdicts.map((v) => `${v.metric} ${v.threshold} ${v.passed}`)).toEqual([
      'cost < 0.4 false',
      'floor >= 1 true',
      'latency <= 3000 true',
      'missing >= 0.1 false',
      'quality >= 0.8 true',
      'recall > 0.5 false',
    ]);
  });

  it('fails a threshold it cannot read instead of passing it', () => {
    expect(judgeScores(evalWith({ odd: '~5' }), { odd: 5 })[0]?.passed).toBe(false);
  });

  it('keeps only well-formed results, and numbers only', () => {
    const text = 'results:\n  - version: sha256:a\n    scores: {q: 0.9, note: high}\n  - scores: {q: 1}\n  - version: sha256:b\n  - oops\n';
    expect(parseEvalResults(text)).toEqual([{ version: 'sha256:a', revision: undefined, scores: { q: 0.9 } }]);
    expect(parseEvalResults(': : not yaml [')).toEqual([]);
  });
});

describe('document edits', () => {
  const file = [
    '# Deployments of the team.',
    'apiVersion: ops.joch.dev/v1alpha1',
    'kind: Deployment',
    'metadata:',
    '  name: a   # the first',
    '  namespace: ns',
    'spec:',
    "  image: 'quoted'",
    '---',
    '# second',
    'apiVersion: ops.joch.dev/v1alpha1',
    'kind: Deployment',
    'metadata: {name: b, namespace: ns}',
    'spec:',
    '  description: >',
    '    folded text that is',
    '    kept as written',
    '',
  ].join('\n');
  const match = (name: string) => ({ kind: 'Deployment', name, namespace: 'ns', defaultNamespace: 'default' });

  it('finds a document by kind, name and namespace, the default namespace applying', () => {
    expect(documentIndex(file, match('b'))).toBe(1);
    expect(documentIndex(file, { ...match('a'), namespace: 'other' })).toBe(-1);
    expect(documentIndex('kind: Deployment\nmetadata: {name: c}\n', { ...match('c'), namespace: 'default' })).toBe(0);
  });

  it('edits one document and leaves every byte of the others, and its own comments and quoting', () => {
    const edited = editDocument(file, 0, (doc) => setAnnotations(doc, { 'joch.dev/version': 'sha256:x' }));
    const second = file.slice(file.indexOf('---'));
    expect(edited.endsWith(second)).toBe(true);
    expect(edited).toContain('# Deployments of the team.\n');
    expect(edited).toContain('  name: a # the first\n');
    expect(edited).toContain("  image: 'quoted'\n");
    expect(edited).toContain('  annotations:\n    joch.dev/version: sha256:x\n');
  });

  it('restores a document from its exact text, and appends one after the last', () => {
    const old = documentText(file, 1) as string;
    expect(old.startsWith('# second\n')).toBe(true);
    const changed = editDocument(file, 1, (doc) => doc.setIn(['spec', 'description'], 'short'));
    expect(replaceDocument(changed, 1, old)).toBe(file);
    expect(replaceDocument(file, 0, documentText(file, 0) as string)).toBe(file);
    expect(appendDocument(file, 'kind: X\n')).toBe(`${file}---\nkind: X\n`);
    expect(appendDocument('kind: Y', 'kind: X\n')).toBe('kind: Y\n---\nkind: X\n');
  });
});
