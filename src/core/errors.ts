/**
 * Typed errors with stable codes.
 *
 * Every failure that can reach a user is an `OptimizerError` (or a subclass, one per failure
 * family). `code` is stable and machine-readable; `message` is plain words and already names
 * the file, line:column or prompt id where one is known, so callers can show it as is.
 */

import { fsCauseOf } from './util/fsCause';

/** Where an error happened, as precisely as known. Lines and columns are 1-based. */
export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  promptId?: string;
}

export type ErrorFamily =
  | 'dsl'
  | 'storage'
  | 'llm'
  | 'config'
  | 'engine'
  | 'dataset'
  | 'usage'
  | 'dify'
  | 'cancelled';

/**
 * Brand shared by every copy of this module. The extension loads some parts as separate bundles
 * (`dist/llm.js`, `dist/training.js`), each with its own copy of these classes, so `instanceof`
 * also recognises an error built by another copy: it compares the class names along the
 * prototype chain of a branded object (bundles keep class names).
 */
const BRAND = Symbol.for('promptopt.OptimizerError');

export class OptimizerError extends Error {
  static override [Symbol.hasInstance](x: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, x)) return true;
    if (typeof x !== 'object' || x === null || (x as Record<symbol, unknown>)[BRAND] !== true) return false;
    for (let p = Object.getPrototypeOf(x) as object | null; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
      if ((p as { constructor?: { name?: string } }).constructor?.name === this.name) return true;
    }
    return false;
  }

  readonly code: string;
  readonly family: ErrorFamily;
  readonly location: ErrorLocation;
  override readonly cause?: unknown;

  constructor(
    family: ErrorFamily,
    code: string,
    message: string,
    location: ErrorLocation = {},
    cause?: unknown,
  ) {
    super(withLocation(message, location));
    this.name = new.target.name;
    this.family = family;
    this.code = code;
    this.location = location;
    this.cause = cause;
    Object.defineProperty(this, BRAND, { value: true });
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...this.location };
  }
}

/** Prefixes `file:line:col` (or `prompt <id>`) to a message unless it already names it. */
export function withLocation(message: string, loc: ErrorLocation): string {
  const parts: string[] = [];
  if (loc.file) {
    let where = loc.file;
    if (loc.line !== undefined) {
      where += `:${loc.line}`;
      if (loc.column !== undefined) where += `:${loc.column}`;
    }
    if (!message.includes(where)) parts.push(where);
  }
  if (loc.promptId && !message.includes(loc.promptId)) parts.push(`prompt ${loc.promptId}`);
  return parts.length ? `${parts.join(', ')}: ${message}` : message;
}

export type DslErrorCode =
  | 'DSL_INVALID_YAML'
  | 'DSL_NOT_DIFY_APP'
  | 'DSL_UNKNOWN_PROMPT'
  | 'DSL_TOO_LARGE'
  | 'DSL_ALIAS_LIMIT'
  | 'DSL_TOO_DEEP'
  | 'DSL_DUPLICATE_KEY'
  | 'DSL_WRITE_UNSUPPORTED'
  | 'DSL_PATCH_INVALID'
  /** The file is not UTF-8 (a stray byte, GBK, UTF-16): read with a warning, never written. */
  | 'DSL_ENCODING'
  /** `.ifpkg` packages (core/package): each names what is wrong; the file is left untouched. */
  | 'PACKAGE_NOT_ZIP'
  | 'PACKAGE_UNSUPPORTED'
  | 'PACKAGE_ENCRYPTED'
  | 'PACKAGE_UNSAFE_PATH'
  | 'PACKAGE_TOO_LARGE'
  | 'PACKAGE_INTEGRITY'
  | 'PACKAGE_MANIFEST_INVALID'
  | 'PACKAGE_MEMBERS_MISMATCH'
  | 'PACKAGE_DSL_INVALID'
  /** A `format: dify.roster-agent` package: a roster agent, not an app. */
  | 'PACKAGE_ROSTER_AGENT';

export class DslError extends OptimizerError {
  declare readonly code: DslErrorCode;
  constructor(code: DslErrorCode, message: string, location: ErrorLocation = {}, cause?: unknown) {
    super('dsl', code, message, location, cause);
  }
}

export type StorageErrorCode =
  | 'STORAGE_NOT_FOUND'
  | 'STORAGE_CORRUPT'
  | 'STORAGE_LOCK_TIMEOUT'
  | 'STORAGE_IO'
  | 'STORAGE_INVALID_ID'
  | 'STORAGE_READ_ONLY'
  | 'STORAGE_INVALID_INPUT'
  | 'STORAGE_CLOSED'
  /** A file changed on disk while it was being edited; nothing was written. */
  | 'STORAGE_CONFLICT'
  /** A path that must stay inside the workspace leads out of it (a symlinked .optimizer). */
  | 'STORAGE_UNSAFE_PATH';

export class StorageError extends OptimizerError {
  declare readonly code: StorageErrorCode;
  constructor(code: StorageErrorCode, message: string, location: ErrorLocation = {}, cause?: unknown) {
    super('storage', code, message, location, cause);
  }
}

export type LlmErrorCode =
  | 'LLM_NO_KEY'
  | 'LLM_HTTP'
  | 'LLM_RATE_LIMITED'
  | 'LLM_TIMEOUT'
  /** The answer went over the response size limit (model.max_response_mb) and was cut off. */
  | 'LLM_RESPONSE_TOO_LARGE'
  | 'LLM_NETWORK'
  | 'LLM_BAD_RESPONSE'
  | 'LLM_TRUNCATED'
  | 'LLM_BUDGET_EXCEEDED'
  | 'LLM_REJECTED_CANDIDATE'
  | 'LLM_AUTH'
  | 'LLM_MODEL_NOT_FOUND'
  /** No model to use: no editor language model, or the chosen one is gone. */
  | 'LLM_NO_MODEL'
  /** The user (or a policy) did not allow this extension to use the editor's language model. */
  | 'LLM_NO_PERMISSION'
  /** The editor's model refused the request: quota used up, or blocked. */
  | 'LLM_BLOCKED'
  /** The backend has no embeddings (VS Code's language models). */
  | 'LLM_NO_EMBEDDINGS'
  /** Asked for something this front end cannot do (e.g. an editor model from the CLI). */
  | 'LLM_UNSUPPORTED'
  /** The endpoint or model refused a request with tools (no function calling). */
  | 'LLM_NO_TOOLS';

export class LlmError extends OptimizerError {
  declare readonly code: LlmErrorCode;
  /** HTTP status when the endpoint answered with one. */
  readonly status?: number;
  constructor(
    code: LlmErrorCode,
    message: string,
    opts: { location?: ErrorLocation; status?: number; cause?: unknown } = {},
  ) {
    super('llm', code, message, opts.location ?? {}, opts.cause);
    this.status = opts.status;
  }
}

export type ConfigErrorCode = 'CONFIG_INVALID' | 'CONFIG_FORBIDDEN_KEY';

export class ConfigError extends OptimizerError {
  declare readonly code: ConfigErrorCode;
  constructor(code: ConfigErrorCode, message: string, location: ErrorLocation = {}, cause?: unknown) {
    super('config', code, message, location, cause);
  }
}

export type EngineErrorCode = 'ENGINE_PROMPT_FAILED' | 'ENGINE_NO_STRATEGY' | 'ENGINE_UNKNOWN_STRATEGY';

export class EngineError extends OptimizerError {
  declare readonly code: EngineErrorCode;
  constructor(code: EngineErrorCode, message: string, location: ErrorLocation = {}, cause?: unknown) {
    super('engine', code, message, location, cause);
  }
}

export type DatasetErrorCode =
  | 'DATASET_INVALID'
  | 'DATASET_NOT_FOUND'
  | 'DATASET_TOO_SMALL'
  | 'DATASET_FORMAT'
  | 'DATASET_RENDER'
  | 'DATASET_METRIC'
  /** Every task call of the current prompt on the validation split failed: nothing could be measured. */
  | 'DATASET_UNMEASURED';

export class DatasetError extends OptimizerError {
  declare readonly code: DatasetErrorCode;
  constructor(code: DatasetErrorCode, message: string, location: ErrorLocation = {}, cause?: unknown) {
    super('dataset', code, message, location, cause);
  }
}

export type UsageErrorCode =
  | 'USAGE'
  | 'FILE_NOT_FOUND'
  | 'FILE_IO'
  /** A run resumed with other inputs (prompt, dataset) than it was started on. */
  | 'RESUME_CHANGED'
  /** A run to resume that has no run log. */
  | 'RESUME_NOT_FOUND';

export class UsageError extends OptimizerError {
  declare readonly code: UsageErrorCode;
  constructor(code: UsageErrorCode, message: string, location: ErrorLocation = {}, cause?: unknown) {
    super('usage', code, message, location, cause);
  }
}

export type DifyErrorCode =
  /** Not signed in to that server, or the sign-in ended (refresh refused): sign in again. */
  | 'DIFY_AUTH'
  /** The server refused the request (403), e.g. the account may not edit apps. */
  | 'DIFY_FORBIDDEN'
  /** The server answered with an error; the message is Dify's own. */
  | 'DIFY_HTTP'
  /** The server could not be reached. */
  | 'DIFY_NETWORK'
  /** The answer was not what Dify's source says it sends. */
  | 'DIFY_BAD_RESPONSE'
  /** The app changed in Dify since it was pulled: nothing was pushed. */
  | 'DIFY_CONFLICT'
  /** Dify refused the import (400 failed); the message is Dify's error. */
  | 'DIFY_IMPORT_FAILED'
  /** The server (or this kind of sign-in) has no such feature (device flow, :publish, overwrite of this app mode). */
  | 'DIFY_UNSUPPORTED'
  /** No app matches, or several do. */
  | 'DIFY_APP_NOT_FOUND'
  /** A draft run on Dify failed (a node's or the workflow's error, as Dify gave it); that case's answer is missing. */
  | 'DIFY_RUN_FAILED';

export class DifyError extends OptimizerError {
  declare readonly code: DifyErrorCode;
  /** HTTP status when the server answered with one. */
  readonly status?: number;
  constructor(code: DifyErrorCode, message: string, opts: { status?: number; location?: ErrorLocation; cause?: unknown } = {}) {
    super('dify', code, message, opts.location ?? {}, opts.cause);
    this.status = opts.status;
  }
}

export class CancelledError extends OptimizerError {
  constructor(message = 'The operation was cancelled.') {
    super('cancelled', 'CANCELLED', message);
  }
}

export function isOptimizerError(e: unknown): e is OptimizerError {
  return e instanceof OptimizerError;
}

/** Turns anything thrown into an OptimizerError without losing the original as `cause`. */
export function toOptimizerError(e: unknown, fallbackCode = 'INTERNAL'): OptimizerError {
  if (e instanceof OptimizerError) return e;
  if (isAbortError(e)) return new CancelledError();
  const io = fsErrorOf(e);
  if (io) return io;
  const msg = e instanceof Error ? e.message : String(e);
  return new OptimizerError('engine', fallbackCode, `Unexpected error: ${msg}`, {}, e);
}

/**
 * A system file-system error (disk full, permission denied, …) as a typed STORAGE_IO error
 * naming the path it carries: not a bug, so never an internal error. Undefined for anything else.
 */
export function fsErrorOf(e: unknown): StorageError | undefined {
  if (e instanceof OptimizerError) return undefined;
  const c = fsCauseOf(e);
  if (!c) return undefined;
  const op = c.syscall ? `${c.code}, ${c.syscall}` : c.code;
  return new StorageError('STORAGE_IO', `file system error: ${c.cause} (${op}).`, c.path ? { file: c.path } : {}, e);
}

export function isAbortError(e: unknown): boolean {
  return (
    e instanceof Error &&
    (e.name === 'AbortError' || e.name === 'APIUserAbortError' || (e as { code?: string }).code === 'ABORT_ERR')
  );
}
