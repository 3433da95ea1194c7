/**
 * Same input, same bytes: two independent runs agree, the clock has no say,
 * serial numbers are UUIDv5 of the agent's identity, and the order records
 * are written in does not matter.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AGBOM_FORMATS, renderAgBom, sourceTimeOf, uuidV5, type AgBom } from '../../src/agbom/index.js';
import { bomOf, editedFleet, EXAMPLE_FLEET, load, policyBundleOf, replaceOnce } from './helpers.js';

async function renderAll(dir: string): Promise<Map<string, string>> {
  const run = await load(dir);
  const out = new Map<string, string>();
  for (const g of run.graphs) {
    const bom = bomOf(run, g.agent.name, policyBundleOf(run, g.agent.name));
    for (const f of AGBOM_FORMATS) out.set(`${g.agent.key} ${f}`, renderAgBom(bom, f).text);
    out.set(`${g.agent.key} cyclonedx-1.7`, renderAgBom(bom, 'cyclonedx', { cyclonedxVersion: '1.7' }).text);
  }
  return out;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('determinism', () => {
  it('gives byte-identical documents in two runs, whatever the clock says', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const first = await renderAll(EXAMPLE_FLEET);
    vi.setSystemTime(new Date('2041-06-15T12:34:56Z'));
    const second = await renderAll(EXAMPLE_FLEET);
    expect(first.size).toBeGreaterThan(0);
    expect([...second.entries()]).toEqual([...first.entries()]);
    for (const text of first.values()) {
      expect(text).not.toContain('2030-');
      expect(text).not.toContain('2041-');
    }
  });

  it('uses UUIDv5 of the organization and the agent as serial number', async () => {
    const run = await load(EXAMPLE_FLEET);
    const bom = bomOf(run, 'support-triage');
    expect(bom.serialNumber).toBe(`urn:uuid:${uuidV5('joch.dev/Agent/support-platform/support-triage')}`);
    expect(bom.serialNumber).toMatch(/^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const other = bomOf(run, 'support-triage', undefined, { organization: { name: 'Example Corp', regid: 'example.com' } });
    expect(other.serialNumber).not.toBe(bom.serialNumber);
  });

  it('matches the RFC 9562 UUIDv5 test vector', () => {
    // RFC 9562 appendix A.4: name "www.example.com" in the DNS namespace.
    expect(uuidV5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('takes time from the commit, else SOURCE_DATE_EPOCH, else the epoch', () => {
    expect(sourceTimeOf(1700000000.7, { SOURCE_DATE_EPOCH: '5' })).toEqual({ seconds: 1700000000, fallback: false });
    expect(sourceTimeOf(undefined, { SOURCE_DATE_EPOCH: '1735689600' })).toEqual({ seconds: 1735689600, fallback: false });
    expect(sourceTimeOf(undefined, { SOURCE_DATE_EPOCH: 'yesterday' })).toEqual({ seconds: 0, fallback: true });
    expect(sourceTimeOf(undefined, {})).toEqual({ seconds: 0, fallback: true });
  });

  it('does not depend on the order records are written in', async () => {
    const reordered = editedFleet({
      'support-platform/agents/support-triage.yaml': replaceOnce(
        '    - name: zendesk.search\n    - name: zendesk.create_ticket\n    - name: slack.send\n',
        '    - name: slack.send\n    - name: zendesk.create_ticket\n    - name: zendesk.search\n',
      ),
    });
    const [a, b] = await Promise.all([load(EXAMPLE_FLEET), load(reordered)]);
    const render = (bom: AgBom) => renderAgBom(bom, 'cyclonedx').text;
    expect(render(bomOf(b, 'support-triage'))).toBe(render(bomOf(a, 'support-triage')));
  });
});
