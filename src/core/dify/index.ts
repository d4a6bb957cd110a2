/** A Dify server: sign-in, export/import (pull/push), draft runs. No vscode import. */
export { DifyClient } from './client';
export { loginWithPassword, loginWithDeviceFlow, encodePasswordField, type PasswordEncoding, type PasswordLogin, type DeviceLogin } from './auth';
export { DifyTransport, normalizeServer, applySetCookies, cookieValue, CSRF_HEADER } from './http';
export { readSse } from './sse';
export { FileCredentialStore, defaultCredentialFile, secretsOf } from './credentials';
export { signOut, type SignOutResult } from './signOut';
export { getRemote, putRemote, readBase, remotesFile, sha256, type RemoteRecord } from './remotes';
export { pull, push, resolveApp, threeWayDiff, describePushNotes, defaultFileName, OVERWRITABLE_MODES, type PullOptions, type PullResult, type PushOptions, type PushResult } from './sync';
export type * from './types';
