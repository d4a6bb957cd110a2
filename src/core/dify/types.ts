/**
 * What a Dify server gives and takes, as Dify's own source says (langgenius/dify, paths cited
 * beside each type). Nothing here imports `vscode`.
 */

/**
 * A sign-in to one server, as kept in the credential store (SecretStorage, or the CLI's 0600
 * file). Never written to the workspace, settings or logs.
 */
export interface DifySession {
  /** 'console': cookies of POST /console/api/login; 'openapi': a device-flow token of /openapi/v1. */
  kind: 'console' | 'openapi';
  /** Normalised server origin (+ path prefix), no trailing slash: `https://cloud.dify.ai`. */
  server: string;
  /**
   * The console cookie jar, name → value, names as the server set them (`__Host-` prefixed under
   * https: api/libs/token.py `_real_cookie_name`).
   */
  cookies?: Record<string, string>;
  /** An Authorization Bearer token: older consoles answered the login with one; the device flow gives one. */
  bearer?: string;
  /** Older consoles' refresh token (body of /refresh-token), when no cookie carries it. */
  refreshToken?: string;
  /** The workspace (tenant) the openapi routes are called in. */
  workspaceId?: string;
  /** Who signed in (shown, never a secret). */
  account?: string;
  /** ISO time of the sign-in. */
  savedAt: string;
}

/** One app as GET /console/api/apps lists it (api/fields/app_fields.py AppPartial; only what we use). */
export interface DifyAppSummary {
  id: string;
  name: string;
  mode: string;
  description?: string;
}

/** An export: YAML text (JSON `{data}`), or the bytes of an `.ifpkg` ZIP (api/controllers/console/app/app.py AppExportApi). */
export type DifyExport = { format: 'yaml'; text: string; bytes: Uint8Array } | { format: 'ifpkg'; bytes: Uint8Array; filename?: string };

/** api/services/entities/dsl_entities.py ImportStatus. */
export type ImportStatus = 'completed' | 'completed-with-warnings' | 'pending' | 'failed';

/** api/services/entities/dsl_entities.py DslImportWarning. */
export interface DslImportWarning {
  code: string;
  path: string;
  message: string;
  details?: Record<string, unknown>;
}

/** api/fields/app_fields.py AppImportResponse (and services/app_dsl_service.py Import). */
export interface DifyImport {
  id: string;
  status: ImportStatus;
  app_id?: string | null;
  app_mode?: string | null;
  current_dsl_version?: string;
  imported_dsl_version?: string;
  error?: string;
  warnings?: DslImportWarning[];
  /** The HTTP status it came with: 200, 202 (pending) or 400 (failed). */
  httpStatus: number;
}

/** api/core/plugin/entities/plugin.py PluginDependency, as check-dependencies lists the missing ones. */
export interface PluginDependency {
  type: string;
  value: Record<string, unknown>;
  current_identifier?: string | null;
}

/** One event of a draft run's stream (`data: {json}` lines; api/core/app/apps/base_app_generate_response_converter.py). */
export interface DifyStreamEvent {
  event: string;
  task_id?: string;
  workflow_run_id?: string;
  data?: Record<string, unknown>;
  /** error events carry these at top level. */
  code?: string;
  message?: string;
  status?: number;
  [k: string]: unknown;
}

/** What a draft workflow run ended with. */
export interface DraftRunResult {
  events: DifyStreamEvent[];
  /** `workflow_finished.data`, when the stream got that far. */
  finished?: Record<string, unknown>;
  status?: string;
  outputs?: Record<string, unknown>;
  error?: string;
  workflowRunId?: string;
}

/** api/fields/workflow_run_fields.py WorkflowRunNodeExecutionResponse (only what we use). */
export interface NodeExecution {
  id: string;
  node_id: string;
  node_type?: string;
  title?: string;
  inputs?: Record<string, unknown> | null;
  process_data?: Record<string, unknown> | null;
  outputs?: Record<string, unknown> | null;
  status: string;
  error?: string | null;
  elapsed_time?: number;
  execution_metadata?: Record<string, unknown> | null;
  [k: string]: unknown;
}

/** RFC 8628 device authorization answer (api/controllers/openapi/oauth_device/code.py). */
export interface DeviceCode {
  device_code: string;
  user_code: string;
  verification_uri: string;
  expires_in: number;
  interval: number;
}

/** Where sessions are kept: VS Code SecretStorage or the CLI's user-only file. */
export interface CredentialStore {
  get(server: string): Promise<DifySession | undefined>;
  set(session: DifySession): Promise<void>;
  delete(server: string): Promise<void>;
  /** Servers with a stored session. */
  list(): Promise<string[]>;
}

/** The HTTP transport (global fetch by default; injectable for tests and proxies). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;
