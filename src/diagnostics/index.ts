/** Diagnostics: one model, four renderings (text, JSON, GitHub annotations, SARIF). */
export * from './types.js';
export { codeInfo, allCodes, leavesInputUnread, registerCodes, type CodeInfo } from './codes.js';
export {
  formatDiagnostics,
  sortDiagnostics,
  summarize,
  codeFrame,
  plural,
  OUTPUT_FORMATS,
  type OutputFormat,
  type Summary,
  type FormatContext,
} from './format.js';
export { nearest, didYouMean } from './suggest.js';
export { looksSecret, redactText, redactSourceLine } from './redact.js';
export { errorMessage, finding } from './finding.js';
