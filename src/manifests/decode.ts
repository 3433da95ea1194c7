/** Bytes to text, refusing what is not UTF-8 text. */

export type Decoded = { ok: true; text: string } | { ok: false; reason: string; offset: number };

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

export function decodeText(bytes: Uint8Array): Decoded {
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    return { ok: false, reason: 'the file is UTF-16 encoded; save it as UTF-8', offset: 0 };
  }
  const nul = bytes.indexOf(0);
  if (nul !== -1) return { ok: false, reason: `the file is binary (NUL byte at offset ${nul})`, offset: nul };
  try {
    // The decoder drops a UTF-8 byte order mark.
    return { ok: true, text: utf8.decode(bytes) };
  } catch {
    const offset = firstInvalidUtf8(bytes);
    return { ok: false, reason: `the file is not valid UTF-8 (first bad byte at offset ${offset})`, offset };
  }
}

/** Offset of the first byte that starts an invalid UTF-8 sequence. */
function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] ?? 0;
    const len = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (len === 0 || i + len > b.length) return i;
    for (let k = 1; k < len; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += len;
  }
  return i;
}
