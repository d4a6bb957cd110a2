import * as vscode from 'vscode';
import type { OptimizerError } from '../../core/errors';
import { OUTPUT_CHANNEL_NAME } from '../constants';

const MAX_LINES = 2000;

/**
 * The "Prompt Optimizer" LogOutputChannel. Every line passes through a redactor that removes
 * every secret registered with {@link Logger.addSecret} (the API key), so a key can never reach
 * the log even if a caller forgets; the last lines are kept in memory for the extension API.
 */
export class Logger implements vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;
  private readonly secrets = new Set<string>();
  private readonly recent: string[] = [];

  constructor() {
    this.channel = vscode.window.createOutputChannel(OUTPUT_CHANNEL_NAME, { log: true });
  }

  /** Registers a secret to be replaced by *** in every later line. */
  addSecret(secret: string | undefined): void {
    if (secret && secret.length >= 4) this.secrets.add(secret);
  }

  private redact(msg: string): string {
    let out = msg;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }

  private keep(level: string, msg: string): string {
    const line = this.redact(msg);
    this.recent.push(`[${level}] ${line}`);
    if (this.recent.length > MAX_LINES) this.recent.splice(0, this.recent.length - MAX_LINES);
    return line;
  }

  debug(msg: string): void {
    this.channel.debug(this.keep('debug', msg));
  }
  info(msg: string): void {
    this.channel.info(this.keep('info', msg));
  }
  warn(msg: string): void {
    this.channel.warn(this.keep('warn', msg));
  }
  error(msg: string): void {
    this.channel.error(this.keep('error', msg));
  }

  /**
   * Logs a failure shown to the user: problems in what the user gave us (a workflow file, a
   * dataset, a config, a command's arguments) are warnings, anything else is an error.
   */
  failure(err: OptimizerError): void {
    const userInput = err.family === 'dsl' || err.family === 'dataset' || err.family === 'config' || err.family === 'usage';
    if (userInput) this.warn(`${err.code}: ${err.message}`);
    else this.error(`${err.code}: ${err.message}`);
  }

  /** The last lines written (already redacted), oldest first. */
  lines(): string[] {
    return [...this.recent];
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}
