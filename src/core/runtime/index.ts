/** What Dify sends for a node: rendering, the request builder, Dify's own templates, the node's spec from the workflow, and the node runner. */
export * from './types';
export * from './render';
export * from './request';
export * from './workflow';
export * from './nodeRequest';
export * from './runner';
