import * as vscode from 'vscode';
import { probeLocalServers, type LocalServer } from '../../core/llm/localServers';
import { Commands, Settings } from '../constants';
import { EDITOR_MODEL_PREFIX, listEditorModels } from '../llm/editorModels';
import { backendSetting, editorModelSetting } from '../services/llmBackend';
import { endpointSettings } from '../services/settings';
import type { ModelPickTrace } from '../services/trace';
import type { CommandDef, Services } from '../services/types';
import { applyChoice, choiceId, modelItems, type ChoicesState, type ModelChoice, type ModelItem } from './selectModelChoices';

const TITLE = 'Model for the LLM strategies';

function extraPorts(): number[] {
  const v = vscode.workspace.getConfiguration(Settings.section).get<unknown>(Settings.localServerPorts);
  return Array.isArray(v) ? v.filter((p): p is number => typeof p === 'number') : [];
}

/**
 * Shows editor models, the endpoint's models and (once the brief probe of the usual loopback
 * ports answers — it starts when the pick opens, i.e. when the user asks) local servers.
 */
async function pick(s: Services): Promise<ModelChoice | undefined> {
  const ep = endpointSettings();
  const st: ChoicesState = {
    editorModels: await listEditorModels(),
    localServers: undefined,
    baseUrl: ep.baseUrl,
    model: ep.model,
    backend: backendSetting(),
    editorModel: editorModelSetting(),
    hasKey: !!(await s.keys.get()),
    canSendRequest: (m) => s.context.languageModelAccessInformation?.canSendRequest(m),
  };
  const qp = vscode.window.createQuickPick<ModelItem>();
  const trace: ModelPickTrace = { title: TITLE, items: [], probing: true, closed: false };
  s.trace.modelPick = trace;
  // The item the pick put active itself (the current choice): kept in step with the list until the user moves.
  let placed: string | undefined;
  const show = () => {
    const activeId = qp.activeItems[0]?.choice ? choiceId(qp.activeItems[0].choice) : undefined;
    const items = modelItems(st);
    qp.items = items;
    const current = items.find((i) => i.current);
    const userMoved = activeId !== undefined && activeId !== placed;
    const again = userMoved ? items.find((i) => i.choice && choiceId(i.choice) === activeId) : current;
    if (again) {
      qp.activeItems = [again];
      if (!userMoved) placed = choiceId(again.choice!);
    }
    trace.items = items
      .filter((i) => i.choice)
      .map((i) => ({ label: i.label, description: i.description ?? '', id: choiceId(i.choice!), ...(i.detail ? { detail: i.detail } : {}), ...(i.current ? { current: true } : {}) }));
  };
  qp.title = TITLE;
  qp.placeholder = 'Editor models, the endpoint’s models, or a local server';
  qp.matchOnDescription = true;
  qp.busy = true;
  show();
  const probe = new AbortController();
  void probeLocalServers({ extraPorts: extraPorts(), signal: probe.signal }).then((found: LocalServer[]) => {
    if (trace.closed) return;
    st.localServers = found;
    qp.busy = false;
    trace.probing = false;
    s.log.info(`local servers: ${found.length ? found.map((f) => `${f.name} at ${f.baseUrl} (${f.models.length} model(s))`).join(', ') : 'none answered'}`);
    show();
  });
  try {
    return await new Promise<ModelChoice | undefined>((resolve) => {
      qp.onDidChangeActive((a) => {
        trace.active = a[0]?.choice ? choiceId(a[0].choice) : undefined;
      });
      qp.onDidAccept(() => {
        const c = qp.selectedItems[0]?.choice ?? qp.activeItems[0]?.choice;
        if (!c || c.kind === 'info') return; // stays open: nothing to choose there
        resolve(c);
        qp.hide();
      });
      qp.onDidHide(() => resolve(undefined));
      qp.show();
    });
  } finally {
    probe.abort();
    trace.closed = true;
    qp.dispose();
  }
}

/**
 * Select Model: an editor model (vscode.lm), a model of the endpoint, or a model of a local
 * server found on this machine. Stored in user settings (see applyChoice). A string argument
 * skips the pick: a model name of the endpoint, or `vscode:<vendor>/<id>` for an editor model.
 */
export const selectModel: CommandDef = {
  id: Commands.selectModel,
  async run(s: Services, model?: unknown) {
    let choice: ModelChoice | undefined;
    if (typeof model === 'string' && model.trim()) {
      const m = model.trim();
      choice = m.startsWith(EDITOR_MODEL_PREFIX) ? { kind: 'editor', ref: m, name: m } : { kind: 'endpoint', model: m };
    } else {
      choice = await pick(s);
    }
    if (choice?.kind === 'other') {
      const typed = (await vscode.window.showInputBox({ title: 'Model name', value: endpointSettings().model }))?.trim();
      choice = typed ? { kind: 'endpoint', model: typed } : undefined;
    }
    if (!choice || choice.kind === 'info') return undefined;
    const chosen = await applyChoice(choice);
    if (choice.kind === 'editor') s.log.info(`model set to editor model ${chosen}`);
    else if (choice.kind === 'local') s.log.info(`model set to ${chosen} on the local server ${choice.server} at ${choice.baseUrl} (no key needed)`);
    else s.log.info(`model set to ${chosen}`);
    return chosen;
  },
};
