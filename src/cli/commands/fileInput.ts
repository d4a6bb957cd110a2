import * as path from 'node:path';
import { DEFAULT_MAX_BYTES } from '../../core/dsl/parse';
import { DslError, UsageError } from '../../core/errors';
import { decodeFileText, describeEncodingProblem } from '../../core/util/encoding';
import { readUpTo } from '../../core/util/safeRead';
import { isPackagePath, packageMemberName, PACKAGE_MAX_BYTES, readPackage } from '../../core/package/index';

/**
 * Reads a text file for a command; missing or unreadable files become UsageError (exit 2). A file
 * over `maxBytes` (default: the DSL limit, 20 MB) is refused before it is read into memory; a pipe
 * or device (`<(…)`, `/dev/stdin`) is read up to the limit and refused past it. A
 * UTF-16 file is refused (DSL_ENCODING); bytes that are not UTF-8 are read as U+FFFD and reported
 * through `warn` (writers refuse such a file: see `service/fileWriter`).
 *
 * A Dify package (`*.ifpkg`) is read as its `app.yaml` (checked as Dify checks it, see
 * core/package; refused with a PACKAGE_* DslError); `source` is then the name positions are
 * given in, `app.ifpkg!/app.yaml`. For any other file `source` is `file`.
 */
export async function readTextFile(
  cwd: string,
  file: string,
  what = 'file',
  maxBytes = DEFAULT_MAX_BYTES,
  warn?: (msg: string) => void,
): Promise<{ abs: string; text: string; source: string; bytes: Buffer }> {
  const abs = path.resolve(cwd, file);
  const pkg = isPackagePath(abs);
  if (pkg) maxBytes = PACKAGE_MAX_BYTES;
  let bytes: Buffer;
  try {
    const r = await readUpTo(abs, maxBytes);
    if (r.over) {
      const limit = `${(maxBytes / 1048576).toFixed(0)} MB`;
      throw new DslError(
        'DSL_TOO_LARGE',
        r.regular ? `The ${what} is ${(r.size / 1048576).toFixed(1)} MB, over the limit of ${limit}.` : `The ${what} is not a regular file and gave more than the limit of ${limit}; reading stopped there.`,
        { file },
      );
    }
    bytes = r.bytes;
  } catch (e) {
    if (e instanceof DslError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError('FILE_NOT_FOUND', `No such ${what}: ${file}`, { file });
    if (code === 'EISDIR') throw new UsageError('FILE_IO', `${file} is a directory, expected a ${what}.`, { file });
    throw new UsageError('FILE_IO', `Cannot read ${what} ${file}: ${(e as Error).message}`, { file }, e);
  }
  if (pkg) {
    const p = readPackage(bytes, file);
    if (warn) for (const w of p.warnings) warn(`${file}: ${w}`);
    return { abs, text: p.appText, source: packageMemberName(file, p.manifest.app.path), bytes };
  }
  const decoded = decodeFileText(bytes, file);
  if (decoded.problem && warn) warn(`${file}:${decoded.problem.line}:${decoded.problem.column}: ${describeEncodingProblem(decoded.problem)}; it is never written back.`);
  return { abs, text: decoded.text, source: file, bytes };
}
