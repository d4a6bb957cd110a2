/**
 * Entry of the lazily loaded bundle `dist/llm.js`: the openai SDK and the LLM clients load only
 * when an optimization actually needs a model, keeping activation light.
 */
export { createLlmClient } from '../core/llm/client';
export { createEditorModelClient } from './llm/vscodeLmClient';
