import { hostname } from 'node:os';
import * as path from 'node:path';
import {
  DifyClient,
  FileCredentialStore,
  defaultCredentialFile,
  describePushNotes,
  getRemote,
  loginWithDeviceFlow,
  loginWithPassword,
  normalizeServer,
  pull,
  push,
  signOut,
  type DifySession,
  type PasswordEncoding,
} from '../../core/dify';
import { DifyError, UsageError } from '../../core/errors';
import { findWorkspaceRoot } from '../../core/storage';
import { parseCommandArgs } from '../args';
import { confirmOnTty } from '../confirm';
import type { CliCommand, CliIo } from '../io';
import { askTty, readStdin } from './difyPrompt';

const usage = `promptopt dify <login|logout|apps|pull|push> …

  promptopt dify login <url> [--email <e>] [--password-stdin] [--device [--client-id <id>] [--workspace-id <id>]]
      Sign in to a Dify server (self-hosted or https://cloud.dify.ai). The password is read from
      the terminal without echo, from PROMPTOPT_DIFY_PASSWORD, or from stdin (--password-stdin);
      it is never stored. --device uses the OAuth device flow of /openapi/v1 instead.
      Tokens are kept in a user-only (0600) file under $XDG_CONFIG_HOME/promptopt (or ~/.config/promptopt).
  promptopt dify logout [<url>]
      Sign out: the server ends the sign-in (its tokens stop working there), and they are deleted here.
  promptopt dify apps [--server <url>] [--name <text>] [--json]
  promptopt dify pull (--app <id> | --name <text>) [--out <file>] [--server <url>] [--workspace <dir>] [--force]
      Export the app (no secrets) into the workspace and record its origin in .optimizer/remotes.json.
  promptopt dify push <file> [--yes] [--as-new [--app-name <n>]] [--publish] [--server <url>] [--workspace <dir>]
      Import the file over the app it was pulled from, after checking that nobody changed the
      draft in Dify since; on a change, nothing is pushed and the three-way difference is shown.
      --yes confirms a DSL version mismatch (Dify's 202 pending). Pushing never publishes;
      --publish does, through the OpenAPI :publish (device-flow sign-in).`;

function store(io: CliIo): FileCredentialStore {
  return new FileCredentialStore(defaultCredentialFile(io.env));
}

/** The session for `--server`, or the file's recorded server, or the only stored one. */
async function sessionFor(io: CliIo, server: string | undefined, recorded?: string): Promise<DifySession> {
  const st = store(io);
  const want = server ? normalizeServer(server) : recorded;
  if (want) {
    const s = await st.get(want);
    if (!s) throw new DifyError('DIFY_AUTH', `Not signed in to ${want}. Sign in first: promptopt dify login ${want}`);
    return s;
  }
  const all = await st.list();
  if (all.length === 1) return (await st.get(all[0]))!;
  if (!all.length) throw new DifyError('DIFY_AUTH', 'Not signed in to any Dify server. Sign in first: promptopt dify login <url>');
  throw new UsageError('USAGE', `Signed in to several servers (${all.join(', ')}); pass --server <url>.`);
}

function clientOf(io: CliIo, s: DifySession): DifyClient {
  return new DifyClient(s, { onSessionChange: (n) => store(io).set(n) });
}

async function login(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      email: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      'password-encoding': { type: 'string' },
      device: { type: 'boolean' },
      'client-id': { type: 'string' },
      'workspace-id': { type: 'string' },
    },
    usage,
  );
  if (positionals.length !== 1) throw new UsageError('USAGE', 'login takes the server URL: promptopt dify login <url>');
  const server = normalizeServer(positionals[0]);
  let session: DifySession;
  if (values.device) {
    session = await loginWithDeviceFlow({
      server,
      clientId: values['client-id'] ?? io.env.PROMPTOPT_DIFY_CLIENT_ID ?? 'difyctl',
      deviceLabel: `promptopt on ${hostname()}`,
      workspaceId: values['workspace-id'],
      signal: io.signal,
      onCode: (c) => io.stderr(`Open ${c.verification_uri} and enter the code ${c.user_code} (valid ${Math.round(c.expires_in / 60)} min). Waiting…\n`),
    });
  } else {
    const email = values.email ?? io.env.PROMPTOPT_DIFY_EMAIL ?? (await askTty('Email: ', io, { alternative: 'pass --email <e> or set PROMPTOPT_DIFY_EMAIL.' }));
    const password = values['password-stdin']
      ? await readStdin()
      : io.env.PROMPTOPT_DIFY_PASSWORD ?? (await askTty(`Password for ${email} at ${server}: `, io, { secret: true, alternative: 'pass --password-stdin or set PROMPTOPT_DIFY_PASSWORD.' }));
    if (!password) throw new UsageError('USAGE', 'No password was given.');
    const enc = (values['password-encoding'] ?? 'auto') as PasswordEncoding;
    if (!['auto', 'base64', 'plain'].includes(enc)) throw new UsageError('USAGE', '--password-encoding is auto, base64 or plain.');
    session = await loginWithPassword({ server, email: email.trim(), password, passwordEncoding: enc, signal: io.signal });
  }
  await store(io).set(session);
  io.stdout(`Signed in to ${server}${session.account ? ` as ${session.account}` : ''} (${session.kind === 'openapi' ? 'device flow' : 'console'}). Tokens kept in ${defaultCredentialFile(io.env)} (owner-only).\n`);
  return 0;
}

async function logout(argv: string[], io: CliIo): Promise<number> {
  const { positionals } = parseCommandArgs(argv, {}, usage);
  const st = store(io);
  const targets = positionals.length ? positionals.map(normalizeServer) : await st.list();
  if (!targets.length) {
    io.stdout('Not signed in to any server.\n');
    return 0;
  }
  for (const t of targets) {
    const r = await signOut(st, t);
    if (r.revoked) io.stdout(`Signed out of ${r.server}: the server ended the sign-in and its tokens are deleted here.\n`);
    else if (r.serverError === 'not signed in here') io.stdout(`Not signed in to ${r.server}.\n`);
    else io.stdout(`Signed out of ${r.server} here (tokens deleted); the server could not be told (${r.serverError}), so its tokens stay valid there until they expire.\n`);
  }
  return 0;
}

async function apps(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(argv, { server: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean' } }, usage);
  const client = clientOf(io, await sessionFor(io, values.server));
  const list = await client.listApps({ name: values.name, signal: io.signal });
  if (values.json) io.stdout(`${JSON.stringify(list, null, 2)}\n`);
  else for (const a of list) io.stdout(`${a.id}  ${a.mode.padEnd(14)}  ${a.name}\n`);
  return 0;
}

async function pullCmd(argv: string[], io: CliIo): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    { server: { type: 'string' }, app: { type: 'string' }, name: { type: 'string' }, out: { type: 'string' }, workspace: { type: 'string' }, force: { type: 'boolean' } },
    usage,
  );
  if (!values.app === !values.name) throw new UsageError('USAGE', 'pull takes one of --app <id> or --name <text>.');
  const root = values.workspace ? path.resolve(io.cwd, values.workspace) : findWorkspaceRoot(path.join(io.cwd, 'pulled-file'));
  const client = clientOf(io, await sessionFor(io, values.server));
  const r = await pull(client, { root, appId: values.app, name: values.name, out: values.out, dir: io.cwd, force: values.force, signal: io.signal });
  const rel = path.relative(io.cwd, r.file) || r.file;
  io.stdout(`${rel}: ${r.unchanged ? 'already up to date with' : 'pulled from'} "${r.app.name}" (${r.app.mode}, ${r.app.id}) on ${client.server}; sha256 ${r.sha256}.${r.format === 'ifpkg' ? ' The server sent an .ifpkg package; it is kept as is.' : ''}\n`);
  return 0;
}

async function pushCmd(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { server: { type: 'string' }, yes: { type: 'boolean' }, 'as-new': { type: 'boolean' }, 'app-name': { type: 'string' }, publish: { type: 'boolean' }, workspace: { type: 'string' } },
    usage,
  );
  if (positionals.length !== 1) throw new UsageError('USAGE', 'push takes exactly one file: promptopt dify push <file>');
  const abs = path.resolve(io.cwd, positionals[0]);
  const root = values.workspace ? path.resolve(io.cwd, values.workspace) : findWorkspaceRoot(abs);
  const rec = await getRemote(root, abs);
  const client = clientOf(io, await sessionFor(io, values.server, values['as-new'] ? undefined : rec?.server));
  const r = await push(client, {
    root,
    file: abs,
    asNew: values['as-new'],
    name: values['app-name'],
    publish: values.publish,
    signal: io.signal,
    confirmVersion: async (q) => {
      io.stderr(`Dify asks to confirm: the file's DSL version is ${q.imported}, the server's is ${q.current}.\n`);
      if (values.yes) return true;
      return confirmOnTty('dify push', `Import DSL ${q.imported} into Dify ${q.current}? [y/N] `, io);
    },
  });
  const rel = path.relative(io.cwd, r.file) || r.file;
  if (r.status === 'conflict') {
    io.stdout(r.diff);
    io.stderr(`promptopt dify push: ${rel} was not pushed: the app's draft changed in Dify since it was pulled (base sha256 ${r.baseSha256.slice(0, 12)}…, Dify now ${r.draftSha256.slice(0, 12)}…). Pull it again (to another file with --out) and merge, then push. [DIFY_CONFLICT]\n`);
    return 1;
  }
  if (r.status === 'declined') {
    io.stderr(`promptopt dify push: ${rel} was not pushed: the DSL version mismatch was not confirmed (file ${r.import.imported_dsl_version}, server ${r.import.current_dsl_version}). Pass --yes to confirm within 10 minutes of the import. [DIFY_PENDING]\n`);
    return 1;
  }
  io.stdout(`${rel}: pushed to ${r.asNew ? 'a new app' : 'the draft of'} ${r.appId} (${r.appMode}) on ${client.server}${r.confirmed ? ' after confirming the DSL version' : ''}; ${r.published ? `published as version ${r.published.version_id}` : 'not published'}.\n`);
  for (const n of describePushNotes(r)) io.stdout(`  ${n}\n`);
  return 0;
}

/** `promptopt dify …`: sign in to Dify, pull an app's DSL into the workspace, push it back without losing changes. */
export const difyCommand: CliCommand = {
  name: 'dify',
  summary: 'Sign in to Dify, pull an app into the workspace, push it back (conflict-checked)',
  usage,
  async run(argv, io) {
    const [sub, ...rest] = argv;
    switch (sub) {
      case 'login':
        return login(rest, io);
      case 'logout':
        return logout(rest, io);
      case 'apps':
        return apps(rest, io);
      case 'pull':
        return pullCmd(rest, io);
      case 'push':
        return pushCmd(rest, io);
      default:
        throw new UsageError('USAGE', `${sub ? `unknown dify command '${sub}'` : 'missing a dify command'}. Usage: ${usage.split('\n')[0]}`);
    }
  },
};
