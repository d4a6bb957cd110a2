import type { PromptRecord } from '../../../src/core/dsl/types';
import { findVariables } from '../../../src/core/dsl/variables';

/** A prompt record as the extractor would give it, for engine tests that need no file. */
export function record(id: string, text: string, over: Partial<PromptRecord> = {}): PromptRecord {
  return {
    id,
    nodeId: id.split('/')[0],
    nodeTitle: `Node ${id}`,
    nodeType: 'llm',
    kind: 'llm-message',
    role: 'system',
    messageIndex: 0,
    yamlPath: ['workflow', 'graph', 'nodes', 0, 'data', 'prompt_template', 0, 'text'],
    editionType: 'basic',
    text,
    variables: findVariables(text),
    ...over,
  };
}

/** A prompt with filler, vague wording, duplicates and no structure: every rule strategy has work. */
export const MESSY =
  'Please note that you should maybe help the user with some things related to {{#sys.query#}} etc.  \n\n\n\n' +
  'In order to do this, you should basically read {{#1718246807593.text#}} and then you should write a good answer that is appropriate and as needed and also you should make sure that the answer is really quite good and covers everything that might be relevant to the question in some way or another.\n' +
  'Make sure that the answer is good and appropriate.\n' +
  'Make sure that the answer is good and appropriate.\n' +
  'Please note that it is important to answer in a good way.';
