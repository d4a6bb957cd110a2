import { isPackagePath, readPackage, workflowMaxBytes, writePackageApp } from '../package/index';
import { assertWritableEncoding, decodeFileText } from '../util/encoding';
import { readRegularFileSync } from '../util/safeRead';

/**
 * The text a writer edits in a workflow file, and how an edited text becomes the file's new
 * bytes: a YAML export is its own text; a Dify `.ifpkg` package is its `app.yaml` member, and
 * the new bytes are the whole package with that member (and the manifest's size and sha256)
 * replaced, every other member byte-identical (core/package).
 */
export interface WorkflowContent {
  text: string;
  bytes: Buffer;
  encode(text: string): string | Buffer;
}

export function workflowContentOf(bytes: Buffer, target: string, displayName: string): WorkflowContent {
  if (isPackagePath(target)) {
    const pkg = readPackage(bytes, displayName);
    return { text: pkg.appText, bytes, encode: (text) => writePackageApp(pkg, text, displayName) };
  }
  const decoded = decodeFileText(bytes, displayName);
  assertWritableEncoding(decoded, displayName);
  return { text: decoded.text, bytes, encode: (text) => text };
}

/** The text of a workflow file's bytes: the file's own text, or a package's `app.yaml` (checked). */
export function workflowTextOf(bytes: Buffer, file: string, displayName = file): string {
  return isPackagePath(file) ? readPackage(bytes, displayName).appText : bytes.toString('utf8');
}

/**
 * The text of the workflow file on disk, read so that it cannot block or fill the memory: only
 * a regular file (a FIFO or device named like an export is refused at once), at most
 * `workflowMaxBytes` (core/package). For the editor's synchronous look-ups (versions tree, targets).
 */
export function readWorkflowTextSync(file: string): string {
  return workflowTextOf(readRegularFileSync(file, { maxBytes: workflowMaxBytes(file) }), file);
}
