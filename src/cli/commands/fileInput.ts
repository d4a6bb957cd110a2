import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../../core/errors';

/** Reads a text file for a command; missing or unreadable files become UsageError (exit 2). */
export async function readTextFile(cwd: string, file: string, what = 'file'): Promise<{ abs: string; text: string }> {
  const abs = path.resolve(cwd, file);
  try {
    return { abs, text: await fs.readFile(abs, 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new UsageError('FILE_NOT_FOUND', `No such ${what}: ${file}`, { file });
    if (code === 'EISDIR') throw new UsageError('FILE_IO', `${file} is a directory, expected a ${what}.`, { file });
    throw new UsageError('FILE_IO', `Cannot read ${what} ${file}: ${(e as Error).message}`, { file }, e);
  }
}
