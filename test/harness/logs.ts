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

/** The log files of our extension's own folder (its LogOutputChannel "Prompt Optimizer.log"), non-empty ones only. */
export function extensionLogFiles(logsDir: string, extensionId: string = EXTENSION_ID): string[] {
  return walk(logsDir).filter((f) => f.split(path.sep).includes(extensionId) && fs.statSync(f).size > 0);
}

/**
 * Every line of every log file under `logsDir` (VS Code's, the extension host's, ours) that
 * contains `secret`, as "file: line" with the secret masked. Used to prove that no API key the
 * tests set reached a log on disk.
 */
export function findSecretInLogs(logsDir: string, secret: string): string[] {
  if (secret.length < 4) throw new Error('findSecretInLogs needs a secret of at least 4 characters');
  const found: string[] = [];
  for (const file of walk(logsDir)) {
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    for (const line of lines) if (line.includes(secret)) found.push(`${path.relative(logsDir, file)}: ${line.trim().split(secret).join('<KEY>')}`);
  }
  return found;
}

/**
 * Splits error log lines into those a test declared it provokes on purpose (matching one of
 * `expected`) and the others. Reads the declarations from a JSON-lines file when given a path.
 */
export function excuseExpectedErrors(lines: string[], expected: Array<{ source: string; flags: string }> | string): { unexpected: string[]; excused: string[] } {
  let list: Array<{ source: string; flags: string }> = [];
  if (typeof expected === 'string') {
    if (fs.existsSync(expected)) {
      list = fs
        .readFileSync(expected, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { source: string; flags: string });
    }
  } else list = expected;
  const res = list.map((e) => new RegExp(e.source, e.flags));
  const unexpected: string[] = [];
  const excused: string[] = [];
  for (const line of lines) (res.some((re) => re.test(line)) ? excused : unexpected).push(line);
  return { unexpected, excused };
}
