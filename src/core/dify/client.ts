import { DifyError } from '../errors';
import { DifyTransport } from './http';
import { readSse } from './sse';
import type { DifyAppSummary, DifyExport, DifyImport, DifySession, DifyStreamEvent, DraftRunResult, FetchLike, NodeExecution, PluginDependency } from './types';

/**
 * The calls a Dify server answers, for pull/push and for running drafts. Routes from
 * langgenius/dify (console: api/controllers/console/app/*.py; openapi: api/controllers/openapi/*.py):
 *
 * | call              | console                                              | openapi (device-flow token)                          |
 * |-------------------|------------------------------------------------------|------------------------------------------------------|
 * | listApps          | GET  /console/api/apps?page&limit&name               | GET  /openapi/v1/apps?workspace_id&page&limit&name   |
 * | exportApp         | GET  /console/api/apps/{id}/export?include_secret&format | GET /openapi/v1/apps/{id}/export?include_secret  |
 * | importApp         | POST /console/api/apps/imports                       | POST /openapi/v1/workspaces/{ws}/apps/imports        |
 * | confirmImport     | POST /console/api/apps/imports/{import_id}/confirm   | POST /openapi/v1/workspaces/{ws}/apps/imports/{id}/confirm |
 * | checkDependencies | GET  /console/api/apps/imports/{app_id}/check-dependencies | GET /openapi/v1/apps/{id}/check-dependencies   |
 * | deleteApp         | DELETE /console/api/apps/{id} (204)                  | —                                                    |
 * | runDraftWorkflow  | POST /console/api/apps/{id}/workflows/draft/run (SSE) | —                                                   |
 * | runDraftNode      | POST /console/api/apps/{id}/workflows/draft/nodes/{node}/run | —                                            |
 * | publish           | —                                                    | POST /openapi/v1/apps/{id}:publish                   |
 * | logout            | POST /console/api/logout (auth/login.py LogoutApi)   | DELETE /openapi/v1/account/sessions/self (account.py) |
 */
export class DifyClient {
  readonly transport: DifyTransport;

  constructor(session: DifySession, opts: { fetch?: FetchLike; onSessionChange?: (s: DifySession) => void | Promise<void> } = {}) {
    this.transport = new DifyTransport(session, opts.fetch, opts.onSessionChange);
  }

  get session(): DifySession {
    return this.transport.session;
  }

  get server(): string {
    return this.session.server;
  }

  private get openapi(): boolean {
    return this.session.kind === 'openapi';
  }

  private workspace(): string {
    const ws = this.session.workspaceId;
    if (!ws) throw new DifyError('DIFY_UNSUPPORTED', `The device-flow sign-in to ${this.server} names no workspace: sign in again with --workspace <id>.`);
    return encodeURIComponent(ws);
  }

  private consoleOnly(what: string): void {
    if (this.openapi) throw new DifyError('DIFY_UNSUPPORTED', `${what} needs a console sign-in (email and password) to ${this.server}; the device-flow token only reaches /openapi/v1.`);
  }

  /**
   * Ends this sign-in on the server, so its tokens stop working there too: the console's
   * LogoutApi (AccountService.logout drops the account's refresh token; the cookies are cleared),
   * or, for a device-flow token, AccountSessionsSelfApi (revokes the token).
   */
  async logout(signal?: AbortSignal): Promise<void> {
    if (this.openapi) await this.transport.raw('/openapi/v1/account/sessions/self', { method: 'DELETE', signal });
    else await this.transport.raw('/console/api/logout', { method: 'POST', json: {}, signal });
  }

  /** Every app of the workspace (pages of 100), optionally filtered by name (server-side, substring). */
  async listApps(opts: { name?: string; signal?: AbortSignal } = {}): Promise<DifyAppSummary[]> {
    const out: DifyAppSummary[] = [];
    for (let page = 1; page < 1000; page++) {
      const path = this.openapi ? '/openapi/v1/apps' : '/console/api/apps';
      const query = { page, limit: 100, name: opts.name || undefined, workspace_id: this.openapi ? this.session.workspaceId : undefined };
      const { body } = await this.transport.json<{ data?: unknown; items?: unknown; has_more?: boolean }>(path, { query, signal: opts.signal });
      const rows = (Array.isArray(body?.data) ? body.data : Array.isArray(body?.items) ? body.items : undefined) as Array<Record<string, unknown>> | undefined;
      if (!rows) throw new DifyError('DIFY_BAD_RESPONSE', `${this.server} listed apps without a data array.`);
      for (const r of rows) {
        if (typeof r.id === 'string') out.push({ id: r.id, name: String(r.name ?? ''), mode: String(r.mode ?? ''), description: typeof r.description === 'string' ? r.description : undefined });
      }
      if (!body.has_more || rows.length === 0) break;
    }
    return out;
  }

  /** One app's details (console GET /apps/{id}); undefined when it is gone (404). */
  async getApp(appId: string, signal?: AbortSignal): Promise<DifyAppSummary | undefined> {
    const path = this.openapi ? `/openapi/v1/apps/${encodeURIComponent(appId)}` : `/console/api/apps/${encodeURIComponent(appId)}`;
    try {
      const { body } = await this.transport.json<Record<string, unknown>>(path, { signal });
      const info = (body?.info as Record<string, unknown> | undefined) ?? body;
      return { id: String(info.id ?? appId), name: String(info.name ?? ''), mode: String(info.mode ?? '') };
    } catch (e) {
      if (e instanceof DifyError && e.status === 404) return undefined;
      throw e;
    }
  }

  /**
   * The app's current draft as DSL, never with secrets (`include_secret=false`). Asks for
   * `format=yaml` (servers that know `format` default to `.ifpkg`; older ones ignore the field);
   * a ZIP answer is returned as bytes to be saved as `.ifpkg` as is.
   */
  async exportApp(appId: string, opts: { format?: 'yaml' | 'ifpkg'; signal?: AbortSignal } = {}): Promise<DifyExport> {
    const path = this.openapi ? `/openapi/v1/apps/${encodeURIComponent(appId)}/export` : `/console/api/apps/${encodeURIComponent(appId)}/export`;
    const res = await this.transport.raw(path, { query: { include_secret: false, format: opts.format ?? 'yaml' }, headers: { Accept: 'application/json, application/zip' }, signal: opts.signal });
    const bytes = new Uint8Array(await res.arrayBuffer());
    const type = res.headers.get('content-type') ?? '';
    const isZip = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;
    if (isZip || /application\/zip/.test(type)) {
      const disp = res.headers.get('content-disposition') ?? '';
      const m = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disp);
      return { format: 'ifpkg', bytes, filename: m ? decodeURIComponent(m[1]) : undefined };
    }
    let body: { data?: unknown };
    try {
      body = JSON.parse(Buffer.from(bytes).toString('utf8')) as { data?: unknown };
    } catch {
      throw new DifyError('DIFY_BAD_RESPONSE', `${this.server} exported app ${appId} as neither JSON {data} nor a ZIP package.`);
    }
    if (typeof body?.data !== 'string') throw new DifyError('DIFY_BAD_RESPONSE', `${this.server} exported app ${appId} without a "data" text.`);
    const text = body.data;
    return { format: 'yaml', text, bytes: new Uint8Array(Buffer.from(text, 'utf8')) };
  }

  /**
   * Imports DSL: over `appId` (Dify overwrites only workflow and advanced-chat drafts this way),
   * or as a new app when `appId` is absent. A YAML string goes as `{mode: yaml-content,
   * yaml_content, app_id}`; `.ifpkg` bytes go as multipart `file` (api/controllers/console/app/app_import.py).
   * 200, 202 (pending: the DSL version needs a confirmation) and 400 (failed) all return the Import.
   */
  async importApp(src: { yaml: string } | { ifpkg: Uint8Array; filename?: string }, opts: { appId?: string; name?: string; description?: string; signal?: AbortSignal } = {}): Promise<DifyImport> {
    const path = this.openapi ? `/openapi/v1/workspaces/${this.workspace()}/apps/imports` : '/console/api/apps/imports';
    let res: Response;
    if ('yaml' in src) {
      const json: Record<string, unknown> = { mode: 'yaml-content', yaml_content: src.yaml };
      if (opts.appId) json.app_id = opts.appId;
      if (opts.name) json.name = opts.name;
      if (opts.description) json.description = opts.description;
      res = await this.transport.raw(path, { method: 'POST', json, okStatuses: [202, 400], signal: opts.signal });
    } else {
      const form = new FormData();
      form.set('file', new Blob([Buffer.from(src.ifpkg)], { type: 'application/zip' }), src.filename?.toLowerCase().endsWith('.ifpkg') ? src.filename : 'app.ifpkg');
      if (opts.appId) form.set('app_id', opts.appId);
      if (opts.name) form.set('name', opts.name);
      if (opts.description) form.set('description', opts.description);
      res = await this.transport.raw(path, { method: 'POST', body: form, okStatuses: [202, 400], signal: opts.signal });
    }
    return this.importOf(res);
  }

  /** Confirms a 202 pending import (valid for 10 minutes: IMPORT_INFO_REDIS_EXPIRY in api/services/app_dsl_service.py). */
  async confirmImport(importId: string, signal?: AbortSignal): Promise<DifyImport> {
    const path = this.openapi ? `/openapi/v1/workspaces/${this.workspace()}/apps/imports/${encodeURIComponent(importId)}/confirm` : `/console/api/apps/imports/${encodeURIComponent(importId)}/confirm`;
    return this.importOf(await this.transport.raw(path, { method: 'POST', okStatuses: [400], signal }));
  }

  private async importOf(res: Response): Promise<DifyImport> {
    const text = await res.text();
    let body: Partial<DifyImport>;
    try {
      body = JSON.parse(text) as Partial<DifyImport>;
    } catch {
      throw new DifyError('DIFY_BAD_RESPONSE', `${this.server} answered the import with ${res.status} and no JSON.`, { status: res.status });
    }
    if (typeof body.id !== 'string' || typeof body.status !== 'string') throw new DifyError('DIFY_BAD_RESPONSE', `${this.server} answered the import with ${res.status} but no import id or status.`, { status: res.status });
    return { ...(body as DifyImport), warnings: Array.isArray(body.warnings) ? body.warnings : [], httpStatus: res.status };
  }

  /** Plugins the imported DSL needs and the workspace lacks. */
  async checkDependencies(appId: string, signal?: AbortSignal): Promise<PluginDependency[]> {
    const path = this.openapi ? `/openapi/v1/apps/${encodeURIComponent(appId)}/check-dependencies` : `/console/api/apps/imports/${encodeURIComponent(appId)}/check-dependencies`;
    const { body } = await this.transport.json<{ leaked_dependencies?: PluginDependency[] }>(path, { signal });
    return Array.isArray(body?.leaked_dependencies) ? body.leaked_dependencies : [];
  }

  /** Deletes an app (204). For temporary apps made to run a draft. */
  async deleteApp(appId: string, signal?: AbortSignal): Promise<void> {
    this.consoleOnly('Deleting an app');
    await this.transport.raw(`/console/api/apps/${encodeURIComponent(appId)}`, { method: 'DELETE', signal });
  }

  /**
   * Runs the app's draft workflow (workflow mode; advanced-chat uses its own route and needs a
   * `query`), reading the streamed events until `workflow_finished` or the end of the stream.
   */
  async runDraftWorkflow(
    appId: string,
    req: { inputs: Record<string, unknown>; files?: unknown[]; query?: string; mode?: 'workflow' | 'advanced-chat' },
    opts: { signal?: AbortSignal; onEvent?: (e: DifyStreamEvent) => void } = {},
  ): Promise<DraftRunResult> {
    this.consoleOnly('A draft run');
    const chat = req.mode === 'advanced-chat';
    const path = `/console/api/apps/${encodeURIComponent(appId)}/${chat ? 'advanced-chat/' : ''}workflows/draft/run`;
    const json: Record<string, unknown> = { inputs: req.inputs };
    if (req.files) json.files = req.files;
    if (chat) json.query = req.query ?? '';
    const res = await this.transport.raw(path, { method: 'POST', json, headers: { Accept: 'text/event-stream' }, signal: opts.signal });
    const type = res.headers.get('content-type') ?? '';
    if (!/text\/event-stream/.test(type)) {
      // A blocking answer (a JSON object), as compact_generate_response sends for a dict.
      const body = (await res.json().catch(() => undefined)) as Record<string, unknown> | undefined;
      if (!body) throw new DifyError('DIFY_BAD_RESPONSE', `${this.server} answered the draft run with neither a stream nor JSON.`);
      const data = (body.data as Record<string, unknown>) ?? body;
      return { events: [], finished: data, status: String(data.status ?? ''), outputs: data.outputs as Record<string, unknown>, error: (data.error as string) || undefined, workflowRunId: body.workflow_run_id as string };
    }
    const result: DraftRunResult = { events: [] };
    for await (const ev of readSse(res.body, opts.signal)) {
      result.events.push(ev);
      opts.onEvent?.(ev);
      if (ev.workflow_run_id && !result.workflowRunId) result.workflowRunId = ev.workflow_run_id;
      if (ev.event === 'workflow_finished' && ev.data) {
        result.finished = ev.data;
        result.status = String(ev.data.status ?? '');
        result.outputs = (ev.data.outputs as Record<string, unknown>) ?? {};
        if (ev.data.error) result.error = String(ev.data.error);
      }
      if (ev.event === 'error') {
        result.status = 'failed';
        result.error = String(ev.message ?? ev.code ?? 'error');
      }
    }
    return result;
  }

  /** Runs one node of the draft alone with the given inputs (`{inputs, query}`); returns its execution. */
  async runDraftNode(appId: string, nodeId: string, req: { inputs: Record<string, unknown>; query?: string; files?: unknown[] }, signal?: AbortSignal): Promise<NodeExecution> {
    this.consoleOnly('A single-node run');
    const json: Record<string, unknown> = { inputs: req.inputs };
    if (req.query !== undefined) json.query = req.query;
    if (req.files) json.files = req.files;
    const { body } = await this.transport.json<NodeExecution>(`/console/api/apps/${encodeURIComponent(appId)}/workflows/draft/nodes/${encodeURIComponent(nodeId)}/run`, { method: 'POST', json, signal });
    if (!body || typeof body.status !== 'string') throw new DifyError('DIFY_BAD_RESPONSE', `${this.server} answered the run of node ${nodeId} without a status.`);
    return body;
  }

  /** Publishes the draft as a new version (OpenAPI `:publish`, api/controllers/openapi/app_workflow.py AppPublishApi). */
  async publish(appId: string, opts: { markedName?: string; markedComment?: string; signal?: AbortSignal } = {}): Promise<{ version_id: string; created_at?: number; warning?: unknown }> {
    if (!this.openapi) throw new DifyError('DIFY_UNSUPPORTED', `Publishing goes through the OpenAPI ":publish" of ${this.server}, which takes a device-flow sign-in: promptopt dify login ${this.server} --device. Nothing was published.`);
    const json: Record<string, unknown> = {};
    if (opts.markedName) json.marked_name = opts.markedName;
    if (opts.markedComment) json.marked_comment = opts.markedComment;
    try {
      const { body } = await this.transport.json<{ version_id: string; created_at?: number; warning?: unknown }>(`/openapi/v1/apps/${encodeURIComponent(appId)}:publish`, { method: 'POST', json, signal: opts.signal });
      return body;
    } catch (e) {
      if (e instanceof DifyError && (e.status === 404 || e.status === 405)) throw new DifyError('DIFY_UNSUPPORTED', `${this.server} has no OpenAPI ":publish"; nothing was published. Publish in Dify's editor.`, { status: e.status });
      throw e;
    }
  }
}
