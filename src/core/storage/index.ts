/** Version store under `<workspace>/.optimizer/` (see VersionStore). */
export { VersionStore } from './versionStore';
export { OPTIMIZER_GITIGNORE } from './layout';
export { encodeName, decodeName, workflowKey, MAX_NAME_BYTES } from './names';
export { findWorkspaceRoot, optimizerDir } from './workspace';
export { compareVersions, nextVersion, bumpFor, FIRST_VERSION } from './semver';
export { SCHEMA_VERSION } from './schema';
export type * from './types';
