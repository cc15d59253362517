import type { z } from 'zod';
import type { ExecResult, Host } from '../host/index.js';
import type { HostConfig } from '../config/schema.js';
import type { Part } from './parts.js';
import type { Action } from './view.js';

/** One labelled value in a result (rendered as an embed field, or a line in a terminal). */
export interface Field {
  name: string;
  value: string;
  inline?: boolean;
  /**
   * Keeps this value for the run's rollback: it becomes the rollback's param of this name (e.g.
   * the replica count before a scale), so the rollback undoes what this run found, not a guess.
   */
  record?: string;
}

export interface StepOutcome {
  ok: boolean;
  /** One line for the result card. */
  summary: string;
  /** Long text (logs, command output); stored redacted, shown paginated. */
  output?: string;
  outputTitle?: string;
  fields?: Field[];
}

export interface StepContext<P> {
  host: Host;
  params: P;
  runId: string;
  /**
   * Runs a command on the host; recorded (argv, exit code, duration) in the step's audit row.
   * `input` goes to its stdin (never into the argv, the audit or the log). It runs in the project
   * directory; `cwd: null` runs it in the user's home instead (ssh-audit's own authorized_keys).
   */
  exec(argv: readonly string[], options?: { timeoutMs?: number; input?: string; cwd?: null }): Promise<ExecResult>;
  /** A compose subcommand with the host's flavour and files. */
  compose(args: readonly string[], options?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Records a Docker API call in the audit as if it were a command. */
  note(description: string): void;
  /**
   * How far a long step has got (e.g. "adonisjs ✅ · nextjs ⏳ health gate"): shown, redacted, as
   * the running step's line in the run's view, which an adapter may show while the step runs.
   */
  progress(summary: string): void;
}

export interface Step<P> {
  title: string;
  mutates: boolean;
  /** For a mutating step: the exact commands it will run, shown at its gate. */
  plan?: (ctx: { host: Host; params: P }) => Promise<string[][]>;
  run(ctx: StepContext<P>): Promise<StepOutcome>;
}

export interface RunbookDocs {
  /**
   * The heading of the section of the seed runbook (shared/seeds/runbook.md) this implements;
   * every registered runbook has one (test/unit/commands.test.ts checks it).
   */
  seedSection?: string;
  trigger: string[];
  expected: string[];
  escalation: string[];
}

/** A value suggested for a param, read from the host: what it fills in and what a person reads (e.g. age and size). */
export interface Suggestion {
  value: string;
  label: string;
}

/**
 * Reads a param's suggestions from the host. `given` holds the other options typed so far, as
 * sent (unchecked: a completer reads them as hints, e.g. which service's versions to suggest).
 */
export type Completer = (host: Host, given: Readonly<Record<string, unknown>>) => Promise<Suggestion[]>;

/** A runbook: declared data plus typed step functions (the slash command is only an alias). */
export interface Runbook<S extends z.ZodType = z.ZodType> {
  id: string;
  title: string | ((params: z.infer<S>) => string);
  summary: string;
  docs: RunbookDocs;
  params: S;
  /**
   * The host parts it uses (named per host, `parts:` in the configuration): a host lacking one
   * refuses the run before anything runs, and `/runbook list` says so.
   */
  needs?: Part[];
  /** Names of params that must be services declared in the host's compose configuration. */
  serviceParams?: (keyof z.infer<S> & string)[];
  /**
   * Params whose values live on the host (backups, certificate names…): suggestions read from it,
   * best first, offered as the person types (autocomplete); the step still checks what it gets.
   */
  complete?: Partial<Record<keyof z.infer<S> & string, Completer>>;
  /**
   * Checks the params against what the host holds, after they parsed and their services exist,
   * before the run starts (e.g. deploy: the version is in the registry). Throws a UserError to
   * refuse: the asker gets the message, nothing runs and no run is recorded. Read-only.
   */
  check?: (host: Host, params: z.infer<S>) => Promise<void>;
  /**
   * Concurrency key: two active runs with the same key on a host are refused. A run that changes a
   * service says `service:<name>`, the key /restart and deploy take, so they exclude each other.
   */
  target?: (params: z.infer<S>, host: HostConfig) => string;
  /**
   * The run changes every service of the host's project (with `target`): while it is active no
   * other run with a target starts on that host, and it does not start beside one.
   */
  wholeProject?: boolean;
  /** A second person (with the approver role) must confirm, never the requester. */
  fourEyes?: boolean;
  steps: Step<z.infer<S>>[];
  rollback?: Step<z.infer<S>>[];
  /**
   * The rollback also undoes a run that succeeded: the run is a deliberate, temporary change (a
   * mitigation such as scaling up), so taking it back later is part of the procedure.
   */
  rollbackAfterSuccess?: boolean;
  /** The rollback button's label when "Roll back" says less than the procedure does (e.g. "Restore the previous backup"). */
  rollbackLabel?: string;
  /** Params the bot fills in itself (values recorded for a rollback): never offered as options. */
  internalParams?: string[];
  /** Buttons offered once the run has ended, e.g. "Logs" after a restart. */
  followUps?: (params: z.infer<S>, host: string) => Action[];
}

export function defineRunbook<S extends z.ZodType>(runbook: Runbook<S>): Runbook<S> {
  return runbook;
}

export type AnyRunbook = Runbook<z.ZodType>;

/** The runbook's completer for a param, if it has one (the param names are only typed per runbook). */
export const completerOf = (rb: AnyRunbook, param: string): Completer | undefined => (rb.complete as Partial<Record<string, Completer>> | undefined)?.[param];
