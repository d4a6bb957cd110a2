/**
 * The limits a `.ifpkg` is read under, Dify's own where Dify states them
 * (langgenius/dify `api/services/app_package_service.py`, `read_package`, and the bounded reader
 * it inherits, `api/services/agent/roster_package_reader.py`):
 * - the app DSL member is read with `max_bytes=DSL_MAX_SIZE`, 10 MiB
 *   (`api/services/dsl_content.py`, `DSL_MAX_SIZE = 10 * 1024 * 1024`);
 * - the member count is bounded by `dify_config.AGENT_PACKAGE_MAX_ENTRIES`, the manifest by
 *   `AGENT_PACKAGE_MAX_MANIFEST_BYTES`, the whole archive and the sum of the declared sizes by
 *   `AGENT_PACKAGE_MAX_BYTES`, each member's declared size / compressed size by
 *   `AGENT_PACKAGE_MAX_COMPRESSION_RATIO`. Their default values are not in the Dify source we
 *   could read; the values below are ours, chosen so a package Dify writes always fits.
 */
export const DSL_MAX_SIZE = 10 * 1024 * 1024;
export const PACKAGE_MAX_ENTRIES = 1000;
export const PACKAGE_MAX_MANIFEST_BYTES = 1024 * 1024;
export const PACKAGE_MAX_BYTES = 100 * 1024 * 1024;
export const PACKAGE_MAX_COMPRESSION_RATIO = 200;

/** Dify's app modes that `read_package` accepts. */
export const PACKAGE_APP_MODES: ReadonlySet<string> = new Set(['workflow', 'advanced-chat', 'chat', 'completion', 'agent-chat', 'channel', 'rag-pipeline']);

export const MANIFEST_PATH = 'manifest.yaml';
