/**
 * The request of a Dify parameter-extractor node for one case, in Dify's prompt mode.
 *
 * Followed: langgenius/graphon (the workflow engine Dify's api runs on),
 * src/graphon/nodes/parameter_extractor/parameter_extractor_node.py at 0481bec6
 * (_generate_prompt_engineering_chat_prompt / _completion_prompt,
 * _get_prompt_engineering_prompt_template), prompts.py at 3564a95b and entities.py at 0ad455fb
 * (get_parameter_json_schema).
 *
 * chat model: the system prompt (memory as text, the instruction), two fixed examples (a
 * structure and text, answered with JSON), then the user message with the parameters' JSON
 * schema (`json.dumps`, ASCII-escaped) and the query. completion model: one text with the
 * instruction, the schema, the memory and the query.
 *
 * reasoning_mode function_call (Dify's default, used when the model can call tools; chat models
 * only) sends the schema as the tool `extract_parameters` and two few-shot tool exchanges before
 * the last user message (_generate_function_call_prompt, _get_function_calling_prompt_template,
 * FUNCTION_CALLING_EXTRACTOR_* in prompts.py); the answer is the tool call's arguments, else the
 * text (_extract_json_from_tool_call / _extract_complete_json_response). An endpoint that
 * refuses tools gets Dify's prompt mode instead — what Dify itself does for a model without
 * tool calling — and the run says so.
 */
import type { ChatMessage, ToolSpec } from '../../llm/types';
import { pyJson } from './difyText';
import type { AnswerShape, ExtractorParameter } from './types';

const CHAT_SYSTEM = (histories: string, instruction: string) =>
  'You should always follow the instructions and output a valid JSON object.\n' +
  'The structure of the JSON object you can found in the instructions.\n\n' +
  '### Memory\n' +
  'Here are the chat histories between human and assistant, inside <histories></histories> XML tags.\n' +
  '<histories>\n' +
  `${histories}\n` +
  '</histories>\n\n' +
  '### Instructions:\n' +
  'Some extra information are provided below, you should always follow the instructions as possible as I can.\n' +
  '<instructions>\n' +
  `${instruction}\n` +
  '</instructions>';

const CHAT_USER = (structure: string, text: string) =>
  '### Structure\n' +
  'Here is the structure of the JSON object, you should always follow the structure.\n' +
  '<structure>\n' +
  `${structure}\n` +
  '</structure>\n\n' +
  '### Text to be converted to JSON\n' +
  'Inside <text></text> XML tags, there is a text that you should convert to a JSON object.\n' +
  '<text>\n' +
  `${text}\n` +
  '</text>';

const CHAT_EXAMPLES: Array<{ query: string; json: unknown; answer: unknown }> = [
  {
    query: 'What is the weather today in SF?',
    json: { type: 'object', properties: { location: { type: 'string', description: 'The location to get the weather information', required: true } }, required: ['location'] },
    answer: { location: 'San Francisco' },
  },
  {
    query: 'I want to eat some apple pie.',
    json: { type: 'object', properties: { food: { type: 'string', description: 'The food to eat', required: true } }, required: ['food'] },
    answer: { food: 'apple pie' },
  },
];

const COMPLETION = (histories: string, text: string, instruction: string, structure: string) =>
  '### Instructions:\n' +
  'Some extra information are provided below, I should always follow the instructions as possible as I can.\n' +
  '<instructions>\n' +
  `${instruction}\n` +
  '</instructions>\n\n' +
  '### Extract parameter Workflow\n' +
  "I need to extract the following information from the input text. The <information to be extracted> tag specifies the 'type', 'description' and 'required' of the information to be extracted.\n" +
  '<information to be extracted>\n' +
  `${structure}\n` +
  '</information to be extracted>\n\n' +
  'Step 1: Carefully read the input and understand the structure of the expected output.\n' +
  'Step 2: Extract relevant parameters from the provided text based on the name and description of object.\n' +
  'Step 3: Structure the extracted parameters to JSON object as specified in <structure>.\n' +
  'Step 4: Ensure that the JSON object is properly formatted and valid. The output should not contain any XML tags. Only the JSON object should be outputted.\n\n' +
  '### Memory\n' +
  'Here are the chat histories between human and assistant, inside <histories></histories> XML tags.\n' +
  '<histories>\n' +
  `${histories}\n` +
  '</histories>\n\n' +
  '### Structure\n' +
  'Here is the structure of the expected output, I should always follow the output structure.\n' +
  '\n' +
  "  'properties1': 'relevant text extracted from input',\n" +
  "  'properties2': 'relevant text extracted from input',\n" +
  '\n\n' +
  '### Input Text\n' +
  'Inside <text></text> XML tags, there is a text that I should extract parameters and convert to a JSON object.\n' +
  '<text>\n' +
  `${text}\n` +
  '</text>\n\n' +
  '### Answer\n' +
  'I should always output a valid JSON object. Output nothing other than the JSON object.\n' +
  '```JSON';

const FC_NAME = 'extract_parameters';

const FC_SYSTEM = (histories: string, instruction: string) =>
  'You are a helpful assistant tasked with extracting structured information based on specific criteria provided. Follow the guidelines below to ensure consistency and accuracy.\n' +
  '### Task\n' +
  `Always call the \`${FC_NAME}\` function with the correct parameters. Ensure that the information extraction is contextual and aligns with the provided criteria.\n` +
  '### Memory\n' +
  'Here is the chat history between the human and assistant, provided within <histories> tags:\n' +
  '<histories>\n' +
  `${histories}\n` +
  '</histories>\n' +
  '### Instructions:\n' +
  'Some additional information is provided below. Always adhere to these instructions as closely as possible:\n' +
  '<instruction>\n' +
  `${instruction}\n` +
  '</instruction>\n' +
  'Steps:\n' +
  '1. Review the chat history provided within the <histories> tags.\n' +
  '2. Extract the relevant information based on the criteria given, output multiple values if there is multiple relevant information that match the criteria in the given text.\n' +
  '3. Generate a well-formatted output using the defined functions and arguments.\n' +
  `4. Use the \`${FC_NAME}\` function to create structured outputs with appropriate parameters.\n` +
  '5. Do not include any XML tags in your output.\n' +
  '### Example\n' +
  'To illustrate, if the task involves extracting a user\'s name and their request, your function call might look like this: Ensure your output follows a similar structure to examples.\n' +
  '### Final Output\n' +
  'Produce well-formatted function calls in json without XML tags, as shown in the example.';

const FC_USER = (content: string, structure: string) =>
  `extract structured information from context inside <context></context> XML tags by calling the function ${FC_NAME} with the correct parameters with structure inside <structure></structure> XML tags.\n` +
  '<context>\n' +
  `${content}\n` +
  '</context>\n\n' +
  '<structure>\n' +
  `${structure}\n` +
  '</structure>';

const FC_EXAMPLES: Array<{ query: string; answer: Record<string, unknown>; param: string }> = [
  { query: 'What is the weather today in SF?', answer: { location: 'San Francisco' }, param: 'location' },
  { query: 'I want to eat some apple pie.', answer: { food: 'apple pie' }, param: 'food' },
];

/**
 * The function-call form: messages and the one tool. Dify gives each example's tool call a
 * fresh uuid4 hex id; fixed ids here keep the request (and so the response cache) stable.
 */
export function extractorFunctionCall(parameters: readonly ExtractorParameter[], o: { query: string; instruction: string; histories: string }): { messages: ChatMessage[]; tools: ToolSpec[] } {
  const schema = parameterJsonSchema(parameters);
  const examples: ChatMessage[] = FC_EXAMPLES.flatMap((e, i): ChatMessage[] => {
    const id = `${i + 1}`.padStart(32, '0');
    return [
      { role: 'user', content: e.query },
      {
        role: 'assistant',
        content: `I need always call the function with the correct parameters. In this case, I need to call the function with the ${e.param} parameter.`,
        toolCalls: [{ id, name: FC_NAME, arguments: pyJson(e.answer) }],
      },
      { role: 'tool', content: 'Great! You have called the function with the correct parameters.', toolCallId: id },
      { role: 'assistant', content: "I have extracted the parameters, let's move on." },
    ];
  });
  return {
    messages: [{ role: 'system', content: FC_SYSTEM(o.histories, o.instruction) }, ...examples, { role: 'user', content: FC_USER(o.query, pyJson(schema)) }],
    tools: [{ name: FC_NAME, description: 'Extract parameters from the natural language text', parameters: schema }],
  };
}

/** A parameter's type as Dify normalises it: bool → boolean, select → string. */
export function parameterType(type: string): string {
  if (type === 'bool') return 'boolean';
  if (type === 'select') return 'string';
  return type;
}

/** get_parameter_json_schema: {type: object, properties: {name: {description, type[, items][, enum]}}, required: […]}. */
export function parameterJsonSchema(parameters: readonly ExtractorParameter[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const p of parameters) {
    const t = parameterType(p.type);
    const prop: Record<string, unknown> = { description: p.description };
    const arr = /^array\[(\w+)\]$/.exec(t);
    if (arr) {
      prop.type = 'array';
      prop.items = { type: arr[1] };
    } else prop.type = t;
    if (p.options?.length) prop.enum = [...p.options];
    properties[p.name] = prop;
    if (p.required) required.push(p.name);
  }
  return { type: 'object', properties, required };
}

/** The extractor's messages for one case (prompt mode). `instruction` is already substituted. */
export function extractorMessages(mode: 'chat' | 'completion', parameters: readonly ExtractorParameter[], o: { query: string; instruction: string; histories: string }): ChatMessage[] {
  const structure = pyJson(parameterJsonSchema(parameters));
  if (mode === 'completion') return [{ role: 'user', content: COMPLETION(o.histories, o.query, o.instruction, structure) }];
  const examples: ChatMessage[] = CHAT_EXAMPLES.flatMap((e) => [
    { role: 'user' as const, content: CHAT_USER(pyJson(e.json), e.query) },
    { role: 'assistant' as const, content: pyJson(e.answer) },
  ]);
  return [{ role: 'system', content: CHAT_SYSTEM(o.histories, o.instruction) }, ...examples, { role: 'user', content: CHAT_USER(structure, o.query) }];
}

function valueSchema(p: ExtractorParameter): Record<string, unknown> {
  const t = parameterType(p.type);
  const arr = /^array\[(\w+)\]$/.exec(t);
  if (arr) return { type: 'array', items: { type: arr[1] } };
  const s: Record<string, unknown> = { type: t };
  if (t === 'string' && p.options?.length) s.enum = [...p.options];
  return s;
}

/**
 * The answer Dify accepts without `__is_success: 0` (its _validate_result): a JSON object with
 * exactly the node's parameters, each of its type, a select's value among its options.
 */
export function extractorAnswer(parameters: readonly ExtractorParameter[]): AnswerShape {
  const properties = Object.fromEntries(parameters.map((p) => [p.name, valueSchema(p)]));
  return {
    text: `The answer is a JSON object with exactly the parameters ${parameters.map((p) => p.name).join(', ')}, each of its type (Dify marks the extraction failed otherwise).`,
    schema: { type: 'object', properties, required: parameters.map((p) => p.name), additionalProperties: false },
  };
}
