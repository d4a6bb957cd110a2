/**
 * Select Model tells the truth (issue 19 item 7): the item marked current is what a run would
 * use, in every backend state, because both come from chooseBackend (resolveBackend uses it
 * for the run, currentChoiceId for the mark). And the editor-model item says what VS Code really
 * does about consent (microsoft/vscode src/vs/workbench/api/common/extHostLanguageModels.ts:
 * consent is asked only when the model's provider uses auth — `_isUsingAuth` — and
 * canSendRequest answers true for the others).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chooseBackend, currentChoiceId, editorAccessNote, editorModelFor, type BackendInputs } from '../../../src/extension/llm/backendChoice';

const A = { vendor: 'copilot', id: 'gpt-4.1', name: 'GPT-4.1' };
const B = { vendor: 'other', id: 'llama', name: 'Llama' };
const EP = { baseUrl: 'https://api.openai.com/v1', model: 'gpt-4o-mini' };
const LOCAL = { baseUrl: 'http://127.0.0.1:11434/v1', model: 'qwen' };

function inputs(over: Partial<BackendInputs>): BackendInputs {
  return { setting: 'auto', hasKey: false, localBaseUrl: false, editorModelRef: '', editorModels: [], ...over };
}

/** What a run would use, as an item id: the same mapping as resolveBackend's result. */
function runUses(inp: BackendInputs, endpoint: { baseUrl: string; model: string }, servers?: { baseUrl: string; models: string[] }[]): string | undefined {
  const c = chooseBackend(inp);
  if (c.kind === 'editor') return `vscode:${c.model.vendor}/${c.model.id}`;
  if (c.kind === 'none') return undefined;
  return servers?.some((s) => s.baseUrl === endpoint.baseUrl && s.models.includes(endpoint.model)) ? `local:${endpoint.baseUrl}#${endpoint.model}` : `endpoint:${endpoint.model}`;
}

describe('Select Model: the current mark is what a run would use', () => {
  const cases: Array<{ name: string; inp: BackendInputs; ep?: { baseUrl: string; model: string }; servers?: { baseUrl: string; models: string[] }[]; want: string | undefined }> = [
    { name: 'default state: no key, an editor model installed → the first editor model', inp: inputs({ editorModels: [A, B] }), want: 'vscode:copilot/gpt-4.1' },
    { name: 'no key, no editor model → nothing (the rules run)', inp: inputs({}), want: undefined },
    { name: 'a key → the endpoint model', inp: inputs({ hasKey: true, editorModels: [A] }), want: 'endpoint:gpt-4o-mini' },
    { name: 'a local base URL, no key → the endpoint model', inp: inputs({ localBaseUrl: true, editorModels: [A] }), ep: LOCAL, want: 'endpoint:qwen' },
    {
      name: 'a local base URL the probe listed → its local-server item',
      inp: inputs({ localBaseUrl: true }),
      ep: LOCAL,
      servers: [{ baseUrl: LOCAL.baseUrl, models: ['qwen'] }],
      want: `local:${LOCAL.baseUrl}#qwen`,
    },
    { name: 'backend endpoint, no key → nothing (no fallback to the editor model)', inp: inputs({ setting: 'endpoint', editorModels: [A] }), want: undefined },
    { name: 'backend endpoint with a key', inp: inputs({ setting: 'endpoint', hasKey: true }), want: 'endpoint:gpt-4o-mini' },
    { name: 'backend editor, the chosen model offered → it', inp: inputs({ setting: 'editor', hasKey: true, editorModelRef: 'vscode:other/llama', editorModels: [A, B] }), want: 'vscode:other/llama' },
    { name: 'backend editor, no model chosen → the first offered', inp: inputs({ setting: 'editor', editorModels: [B, A] }), want: 'vscode:other/llama' },
    { name: 'backend editor, the chosen model gone → nothing', inp: inputs({ setting: 'editor', editorModelRef: 'vscode:gone/x', editorModels: [A] }), want: undefined },
    { name: 'auto with a chosen editor model and no key → that model, not the first', inp: inputs({ editorModelRef: 'vscode:other/llama', editorModels: [A, B] }), want: 'vscode:other/llama' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const ep = c.ep ?? EP;
      assert.equal(currentChoiceId(c.inp, ep, c.servers), c.want);
      assert.equal(runUses(c.inp, ep, c.servers), c.want);
    });
  }

  it('the reasons for no model are told apart', () => {
    assert.deepEqual(chooseBackend(inputs({ setting: 'endpoint' })), { kind: 'none', why: 'no-key', explicit: true });
    assert.deepEqual(chooseBackend(inputs({})), { kind: 'none', why: 'no-editor-model', explicit: false });
    assert.deepEqual(chooseBackend(inputs({ setting: 'editor' })), { kind: 'none', why: 'no-editor-model', explicit: true });
    assert.deepEqual(chooseBackend(inputs({ setting: 'editor', editorModelRef: 'vscode:a/b' })), { kind: 'none', why: 'editor-missing', explicit: true });
  });

  it('an editor model reference matches vendor and id (a bare id matches any vendor)', () => {
    assert.equal(editorModelFor('vscode:other/llama', [A, B]), B);
    assert.equal(editorModelFor('llama', [A, B]), B);
    assert.equal(editorModelFor('vscode:copilot/llama', [A, B]), undefined);
    assert.equal(editorModelFor('', [A, B]), A);
  });
});

describe('Select Model and the README say what VS Code does about consent', () => {
  it('the item follows canSendRequest: no question for providers without sign-in, one question for those with it, refused', () => {
    assert.match(editorAccessNote(true), /without asking/);
    assert.match(editorAccessNote(undefined), /requires sign-in: VS Code asks once/);
    assert.match(editorAccessNote(false), /refused/);
    for (const v of [true, false, undefined]) assert.doesNotMatch(editorAccessNote(v), /asks your permission the first time/);
  });

  it('neither the README nor the settings claim VS Code always asks the first time', () => {
    const root = path.resolve(__dirname, '../../../..');
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const pkg = fs.readFileSync(path.join(root, 'package.json'), 'utf8');
    for (const [name, text] of [['README.md', readme], ['package.json', pkg]] as const) {
      assert.doesNotMatch(text, /asks (your|for your) permission (the first time|on first use)/i, name);
    }
    assert.match(readme, /sign-in/);
  });
});
