/** Scans a VS Code logs folder for errors our extension logged or caused. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EXTENSION_ID } from '../../src/extension/constants';

function walk(dir: string, out: string[] = []): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.name.endsWith('.log')) out.push(p);
  }
  return out;
}

/**
 * Error lines from our extension's own log channel (a folder named after the extension id) and
 * extension-host log lines that mention the extension id at error level or as failed
 * (e.g. a throwing activate()). Each entry is "file: line".
 */
export function findExtensionLogErrors(logsDir: string, extensionId: string = EXTENSION_ID): string[] {
  const found: string[] = [];
  for (const file of walk(logsDir)) {
    const ours = file.split(path.sep).includes(extensionId);
    const hostLog = /exthost\.log$/i.test(path.basename(file));
    if (!ours && !hostLog) continue;
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    for (const line of lines) {
      const isError = /\[error\]/i.test(line);
      if (ours ? isError : (isError || /\bfailed\b/i.test(line)) && line.includes(extensionId)) {
        found.push(`${path.relative(logsDir, file)}: ${line.trim()}`);
      }
    }
  }
  return found;
}
