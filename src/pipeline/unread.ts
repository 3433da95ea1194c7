/**
 * What a Git revision holds but the snapshot does not: links, submodules and
 * files over the size limit. Each one is a finding, because a record that was
 * not read looks exactly like a record that was deleted, and `joch sync`
 * prunes what the revision no longer has. A file over joch.yaml's
 * `limits.maxFileBytes` is refused here as a local checkout refuses it.
 */
import { finding, type Finding } from '../diagnostics/index.js';
import { tooLargeFinding } from '../source/local.js';
import { displayPath, YAML_FILE, type Snapshot, type UnreadEntry } from '../source/types.js';

/** The snapshot without files over `maxFileBytes`, and a finding for each of those and for each unread entry. */
export function accountForUnread(snapshot: Snapshot, maxFileBytes: number): { snapshot: Snapshot; findings: Finding[] } {
  const at = (rel: string) => ({ file: displayPath(snapshot, rel), line: 1, column: 1 });
  const findings: Finding[] = (snapshot.unread ?? []).map((e) => unreadFinding(e, maxFileBytes, at(e.path)));
  const files = snapshot.files.filter((f) => f.bytes.byteLength <= maxFileBytes);
  if (files.length === snapshot.files.length) return { snapshot, findings };
  for (const f of snapshot.files) {
    if (f.bytes.byteLength > maxFileBytes) findings.push(tooLargeFinding(f.bytes.byteLength, maxFileBytes, at(f.path)));
  }
  return { snapshot: { ...snapshot, files }, findings };
}

function unreadFinding(e: UnreadEntry, maxFileBytes: number, where: { file: string; line: number; column: number }): Finding {
  if (e.reason === 'oversize') {
    const limit = e.limit ?? maxFileBytes;
    // The reader's own ceiling was lower than joch.yaml's: say which limit it was.
    if (limit < maxFileBytes) return finding('JOCH106', `the file is ${e.size ?? 0} bytes; files are read from a Git revision up to ${limit} bytes`, where);
    return tooLargeFinding(e.size ?? 0, maxFileBytes, where);
  }
  if (e.reason === 'symlink' && YAML_FILE.test(e.path)) {
    return finding('JOCH112', 'the file is a symbolic link in the Git revision; links are not followed there, so its records are not read', where, {
      hint: 'commit the file itself instead of a link to it, or list it in .jochignore if it holds no records',
    });
  }
  const what = e.reason === 'symlink' ? 'a symbolic link' : 'a submodule';
  return finding('JOCH113', `${what} in the Git revision is not read; any manifests it leads to are missing`, where, {
    hint: 'list it in .jochignore if it holds no records',
  });
}
