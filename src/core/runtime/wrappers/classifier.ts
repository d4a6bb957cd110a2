/**
 * The request of a Dify question-classifier node for one case.
 *
 * Followed: langgenius/graphon (the workflow engine Dify's api runs on),
 * src/graphon/nodes/question_classifier/question_classifier_node.py at 0ad455fb
 * (_get_prompt_template), and its template_prompts.py in the parenthesised form of that
 * package (older langgenius/dify api/core/workflow/nodes/question_classifier/template_prompts.py,
 * e.g. dbcc328e, has the same messages with other indentation and "Here is" for "Here are").
 *
 * chat model: a system prompt (the job, the JSON answer, the memory as text), two fixed
 * user/assistant examples, then one user message holding the query, the categories as
 * `json.dumps([{"category_id", "category_name"}], ensure_ascii=False)` and the instruction.
 * completion model: the same in one text. Memory is only written into the system text (as
 * "Human: …\nAssistant: …"); it is never sent as turns. The instruction's `{{#…#}}` variables
 * are substituted first. Dify reads `category_id` from the JSON answer and falls back to the
 * first class when the answer has no known id.
 */
import type { ChatMessage } from '../../llm/types';
import { pyJson } from './difyText';
import type { AnswerShape, ClassifierWrap } from './types';

const SYSTEM = (histories: string) =>
  "\n### Job Description',\n" +
  'You are a text classification engine that analyzes text data and assigns categories based on user input or automatically determined categories.\n' +
  '### Task\n' +
  'Your task is to assign one categories ONLY to the input text and only one category may be assigned returned in the output.\n' +
  'Additionally, you need to extract the key words from the text that are related to the classification.\n' +
  '### Format\n' +
  'The input text is in the variable input_text. Categories are specified as a category list with two filed category_id and category_name in the variable categories. Classification instructions may be included to improve the classification accuracy.\n' +
  '### Constraint\n' +
  'DO NOT include anything other than the JSON array in your response.\n' +
  '### Memory\n' +
  'Here are the chat histories between human and assistant, inside <histories></histories> XML tags.\n' +
  '<histories>\n' +
  `${histories}\n` +
  '</histories>\n';

const EX1_CATEGORIES =
  '[{"category_id":"f5660049-284f-41a7-b301-fd24176a711c","category_name":"Customer Service"},{"category_id":"8d007d06-f2c9-4be5-8ff6-cd4381c13c60","category_name":"Satisfaction"},{"category_id":"5fbbbb18-9843-466d-9b8e-b9bfbb9482c8","category_name":"Sales"},{"category_id":"23623c75-7184-4a2e-8226-466c2e4631e4","category_name":"Product"}]';
const EX2_CATEGORIES =
  '[{"category_id":"80fb86a0-4454-4bf5-924c-f253fdd83c02","category_name":"Food Quality"},{"category_id":"f6ff5bc3-aca0-4e4a-8627-e760d0aca78f","category_name":"Experience"},{"category_id":"cc771f63-74e7-4c61-882e-3eda9d8ba5d7","category_name":"Price"}]';
const EX1_TEXT = 'I recently had a great experience with your company. The service was prompt and the staff was very friendly.';

const USER_1 =
  `\n    {"input_text": ["${EX1_TEXT}"],\n` +
  `    "categories": ${EX1_CATEGORIES},\n` +
  '    "classification_instructions": ["classify the text based on the feedback provided by customer"]}\n';
const ASSISTANT_1 =
  '\n```json\n' +
  '    {"keywords": ["recently", "great experience", "company", "service", "prompt", "staff", "friendly"],\n' +
  '    "category_id": "f5660049-284f-41a7-b301-fd24176a711c",\n' +
  '    "category_name": "Customer Service"}\n' +
  '```\n';
const USER_2 = '\n    {"input_text": ["bad service, slow to bring the food"],\n' + `    "categories": ${EX2_CATEGORIES},\n` + '    "classification_instructions": []}\n';
const ASSISTANT_2 =
  '\n```json\n' +
  '    {"keywords": ["bad service", "slow", "food", "tip", "terrible", "waitresses"],\n' +
  '    "category_id": "f6ff5bc3-aca0-4e4a-8627-e760d0aca78f",\n' +
  '    "category_name": "Experience"}\n' +
  '```\n';
const USER_3 = (input: string, categories: string, instruction: string) =>
  `\n    {"input_text": ["${input}"],\n` + `    "categories": ${categories},\n` + `    "classification_instructions": ["${instruction}"]}\n`;

const COMPLETION = (histories: string, input: string, categories: string, instruction: string) =>
  '\n### Job Description\n' +
  'You are a text classification engine that analyzes text data and assigns categories based on user input or automatically determined categories.\n' +
  '### Task\n' +
  'Your task is to assign one categories ONLY to the input text and only one category may be assigned returned in the output.\n' +
  'Additionally, you need to extract the key words from the text that are related to the classification.\n' +
  '### Format\n' +
  'The input text is in the variable input_text. Categories are specified as a category list  with two filed category_id and category_name in the variable categories. Classification instructions may be included to improve the classification accuracy.\n' +
  '### Constraint\n' +
  'DO NOT include anything other than the JSON array in your response.\n' +
  '### Example\n' +
  'Here is the chat example between human and assistant, inside <example></example> XML tags.\n' +
  '<example>\n' +
  `User:{"input_text": ["${EX1_TEXT}"], "categories": ${EX1_CATEGORIES}, "classification_instructions": ["classify the text based on the feedback provided by customer"]}\n` +
  'Assistant:{"keywords": ["recently", "great experience", "company", "service", "prompt", "staff", "friendly"],"category_id": "f5660049-284f-41a7-b301-fd24176a711c","category_name": "Customer Service"}\n' +
  `User:{"input_text": ["bad service, slow to bring the food"], "categories": ${EX2_CATEGORIES}, "classification_instructions": []}\n` +
  'Assistant:{"keywords": ["bad service", "slow", "food", "tip", "terrible", "waitresses"],"category_id": "f6ff5bc3-aca0-4e4a-8627-e760d0aca78f","category_name": "Experience"}\n' +
  '</example>\n' +
  '### Memory\n' +
  'Here are the chat histories between human and assistant, inside <histories></histories> XML tags.\n' +
  '<histories>\n' +
  `${histories}\n` +
  '</histories>\n' +
  '### User Input\n' +
  `{"input_text" : ["${input}"], "categories" : ${categories},"classification_instruction" : ["${instruction}"]}\n` +
  '### Assistant Output\n';

/** `json.dumps(categories, ensure_ascii=False)` of the node's classes. */
export function categoriesJson(classes: ClassifierWrap['classes']): string {
  return pyJson(
    classes.map((c) => ({ category_id: c.id, category_name: c.name })),
    false,
  );
}

/**
 * The classifier's messages for one case. `instruction` is already substituted; `histories`
 * is the memory text ('' without memory).
 */
export function classifierMessages(mode: 'chat' | 'completion', w: Pick<ClassifierWrap, 'classes'>, o: { query: string; instruction: string; histories: string }): ChatMessage[] {
  const categories = categoriesJson(w.classes);
  if (mode === 'completion') return [{ role: 'user', content: COMPLETION(o.histories, o.query, categories, o.instruction) }];
  return [
    { role: 'system', content: SYSTEM(o.histories) },
    { role: 'user', content: USER_1 },
    { role: 'assistant', content: ASSISTANT_1 },
    { role: 'user', content: USER_2 },
    { role: 'assistant', content: ASSISTANT_2 },
    { role: 'user', content: USER_3(o.query, categories, o.instruction) },
  ];
}

/** The answer Dify can route on: JSON with category_name and a category_id of one of the classes. */
export function classifierAnswer(w: Pick<ClassifierWrap, 'classes'>): AnswerShape {
  return {
    text: `The answer is JSON with "category_id" and "category_name", the id being one of the classes (${w.classes.map((c) => c.id).join(', ')}); otherwise Dify routes to the first class.`,
    schema: { type: 'object', required: ['category_id', 'category_name'], properties: { category_id: { enum: w.classes.map((c) => c.id) } } },
  };
}
