import * as assert from 'node:assert/strict';
import { ourExtension } from './support/helpers';

interface Pkg {
  contributes: {
    commands: Array<{ command: string; category?: string }>;
    menus: Record<string, Array<{ command: string; when?: string }>>;
    keybindings: Array<{ command: string; when?: string }>;
    configuration: { properties: Record<string, { scope?: string; description?: string; markdownDescription?: string }> };
    views: Record<string, Array<{ id: string }>>;
    viewsWelcome: Array<{ view: string }>;
    walkthroughs: Array<{ steps: Array<{ media: { markdown?: string } }> }>;
  };
  capabilities: { untrustedWorkspaces: { supported: string; restrictedConfigurations: string[] } };
}

describe('manifest (as VS Code loaded it)', () => {
  const pkg = () => ourExtension().packageJSON as Pkg;

  it('puts every command in the "Prompt Optimizer" category', () => {
    assert.deepEqual(pkg().contributes.commands.filter((c) => c.category !== 'Prompt Optimizer').map((c) => c.command), []);
  });

  it('hides palette entries where they do not apply', () => {
    const when = new Map(pkg().contributes.menus.commandPalette.map((m) => [m.command, m.when ?? '']));
    for (const id of ['optimizePrompt', 'optimizeAllPrompts', 'analyzePrompts', 'compareWithCurrent', 'restoreVersion']) {
      assert.match(when.get(`promptOptimizer.${id}`) ?? '', /promptOptimizer\.isDifyExport/, `${id} is not limited to Dify exports`);
    }
    for (const id of ['acceptProposal', 'rejectProposal', 'nextProposal', 'previousProposal']) {
      assert.equal(when.get(`promptOptimizer.${id}`), 'promptOptimizer.hasPendingProposals');
    }
    for (const id of ['compareWithParent', 'copyVersionText', 'deleteVersion', 'refreshVersions']) assert.equal(when.get(`promptOptimizer.${id}`), 'false', `${id} (tree item only) shows in the palette`);
  });

  it('shows Accept / Reject in the editor title and binds keys only while a proposal diff is active', () => {
    const title = pkg().contributes.menus['editor/title'];
    for (const id of ['acceptProposal', 'rejectProposal']) {
      assert.equal(title.find((m) => m.command === `promptOptimizer.${id}`)?.when, 'promptOptimizer.proposalActive');
      assert.equal(pkg().contributes.keybindings.find((k) => k.command === `promptOptimizer.${id}`)?.when, 'promptOptimizer.proposalActive');
    }
  });

  it('gives every setting a description and a scope; the base URL is machine-scoped and restricted', () => {
    const props = pkg().contributes.configuration.properties;
    for (const [k, v] of Object.entries(props)) {
      assert.ok(v.description || v.markdownDescription, `${k} has no description`);
      assert.ok(v.scope, `${k} has no scope`);
      assert.ok(!/api.?key|secret|password|bearer/i.test(k), `${k} looks like a secret in settings`);
    }
    assert.equal(props['promptOptimizer.llm.baseUrl'].scope, 'machine');
    const caps = pkg().capabilities.untrustedWorkspaces;
    assert.equal(caps.supported, 'limited');
    assert.deepEqual(caps.restrictedConfigurations, ['promptOptimizer.llm.baseUrl']);
  });

  it('contributes the Prompt Versions view with a welcome view and a walkthrough', () => {
    const views = Object.values(pkg().contributes.views).flat();
    assert.ok(views.some((v) => v.id === 'promptOptimizer.versions'));
    assert.ok(pkg().contributes.viewsWelcome.some((w) => w.view === 'promptOptimizer.versions'));
    assert.equal(pkg().contributes.walkthroughs[0].steps.length, 4);
  });
});
