/** What a CLI command may touch: streams, env and cwd are injected so commands are testable in-process. */
export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on SIGINT: long commands stop their work and exit. */
  signal: AbortSignal;
}

export interface CliCommand {
  name: string;
  summary: string;
  usage: string;
  /** Returns the exit code. Throw OptimizerError for bad input: the dispatcher prints it on one line, exit 2. */
  run(argv: string[], io: CliIo): Promise<number>;
}
