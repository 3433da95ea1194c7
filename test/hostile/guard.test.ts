/**
 * The emission guard, the second line of defence: a real compile and real
 * AgBOMs of the example fleet are clean; the same documents with a
 * credential put in (as a stage that copied one by mistake would) are
 * refused with JOCH603 at the record they came from, without the value.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../src/compile/index.js';
import type { SourcePointer } from '../../src/diagnostics/index.js';
import { buildRunAgBoms } from '../../src/pipeline/agbom.js';
import { runCompile } from '../../src/pipeline/compile.js';
import { agbomEmissions, compiledEmissions } from '../../src/pipeline/emission.js';
import { runValidate } from '../../src/pipeline/index.js';
import { emissionFindings } from '../../src/schema/emission.js';
import { ROOT } from './channels.js';

const FLEET = path.join(ROOT, 'examples/fleet');
const TOKEN = `xoxb-${'1234567890'.repeat(3)}`;

describe('the emission guard', () => {
  it('passes the example fleet, and refuses a compiled object that carries a credential, at its record', async () => {
    const run = await runCompile({ paths: [FLEET], cwd: ROOT });
    expect(run.refused).toBe(false);
    const output = run.output;
    if (!output) throw new Error('the fleet did not compile');
    expect(emissionFindings(compiledEmissions(output))).toEqual([]);

    const i = output.objects.findIndex((o) => o.object.kind === 'Deployment');
    const victim = output.objects[i];
    if (!victim?.origin) throw new Error('no Deployment with an origin');
    const object = structuredClone(victim.object) as KubeObject & { metadata: { annotations?: Record<string, string> } };
    object.metadata.annotations = { ...object.metadata.annotations, 'example.com/notify': TOKEN };
    const objects = output.objects.map((o, k) => (k === i ? { ...o, object } : o));
    const found = emissionFindings(compiledEmissions({ ...output, objects }));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ code: 'JOCH603', severity: 'error', at: victim.origin });
    expect(found[0]?.message).toContain('a Slack token at metadata.annotations["example.com/notify"]');
    expect(JSON.stringify(found)).not.toContain(TOKEN);
  });

  it('refuses an AgBOM whose component carries a credential, at the record the component came from', async () => {
    const run = await runValidate({ paths: [FLEET], cwd: ROOT });
    const built = buildRunAgBoms(run, { toolVersion: '0.0.0', env: { SOURCE_DATE_EPOCH: '0' } });
    if (!built.ok) throw new Error('the fleet has errors');
    expect(emissionFindings(agbomEmissions(built.boms, run.set.resources))).toEqual([]);

    const bom = built.boms[0];
    const component = bom?.inventory.components.find((c) => c.key.endsWith('#endpoint'));
    if (!bom || !component) throw new Error('no AgBOM with a Model');
    const leaked = { ...component, description: `call with ${TOKEN}` };
    const tampered = { ...bom, inventory: { ...bom.inventory, components: bom.inventory.components.map((c) => (c === component ? leaked : c)) } };
    const found = emissionFindings(agbomEmissions([tampered], run.set.resources));
    expect(found).toHaveLength(1);
    // The endpoint is part of its Model: the finding points at the Model's record.
    const model = run.set.resources.find((r) => `${r.key}#endpoint` === component.key);
    expect(model).toBeDefined();
    expect(found[0]?.at).toEqual({ file: model?.file, doc: model?.doc, path: [] } satisfies Partial<SourcePointer>);
    expect(JSON.stringify(found)).not.toContain(TOKEN);
  });
});
