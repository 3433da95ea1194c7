/** Rendering findings in the formats of `-o`: the text table, machine formats, and YAML of the JSON report. */
import { yamlLib } from '../manifests/yaml-lib.js';
import { formatDiagnostics, type Diagnostic, type OutputFormat, type Summary } from '../diagnostics/index.js';

type RenderOptions = Parameters<typeof formatDiagnostics>[3];

export function renderFindings(format: string, diagnostics: readonly Diagnostic[], summary: Summary, options: RenderOptions): string {
  if (format === 'yaml') return yamlLib().stringify(JSON.parse(formatDiagnostics('json', diagnostics, summary, options)) as unknown);
  const base: OutputFormat = format === 'table' || format === 'wide' ? 'text' : (format as OutputFormat);
  return formatDiagnostics(base, diagnostics, summary, options);
}

/** A value as JSON or YAML, the way every command prints its machine formats. */
export function renderData(format: 'json' | 'yaml', value: unknown): string {
  return format === 'yaml' ? yamlLib().stringify(value) : `${JSON.stringify(value, null, 2)}\n`;
}
