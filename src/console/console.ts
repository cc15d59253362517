import { writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { runbooks as allRunbooks } from '../../runbooks/index.js';
import type { Config, HostConfig } from '../config/schema.js';
import { rolesOf, helpLines, rolesText } from '../engine/catalog.js';
import { Engine } from '../engine/engine.js';
import { isUserError } from '../engine/errors.js';
import { redact } from '../engine/redact.js';
import type { AnyRunbook } from '../engine/runbook.js';
import type { Actor, Role, RunView } from '../engine/view.js';
import { createHost, type Host } from '../host/index.js';
import { openDatabase } from '../store/db.js';
import { Store } from '../store/store.js';
import { parseCommand, type ConsoleRequest } from './grammar.js';
import { Painter, actionWord, colourEnabled, markdown, renderView } from './render.js';

/**
 * The terminal adapter: the same runbooks and engine as the Discord bot, rendered as text, with
 * gates answered at the prompt. It imports nothing of src/discord (eslint enforces it), which is
 * what shows that the engine is platform-neutral.
 */

export const ROLES = ['viewer', 'operator', 'approver'] as const satisfies readonly Role[];

/** What a role name grants: roles rank viewer < operator < approver. */
export const rolesFor = (role: Role): Role[] => ROLES.slice(0, ROLES.indexOf(role) + 1);

export interface ConsoleOptions {
  hosts: HostConfig[];
  engineConfig: Pick<Config, 'gates' | 'defaultHost'> & Partial<Pick<Config, 'fleet'>>;
  /** The audit database: the bot's own (so console runs are in its audit and share its locks), or `:memory:`. */
  databasePath: string;
  role: Role;
  log: Logger;
  input?: NodeJS.ReadableStream;
  output?: NodeJS.WriteStream;
  /** Where the connection is made, for the banner (e.g. the config file, or "the compose project in /srv/app"). */
  source: string;
}

const HELP = `Commands (the slash commands of the bot; the leading / is optional):
  /ps                                compose services: state, health, uptime
  /restart <service>                 restart it (asks for a confirmation), then verify
  /stats   /top <service>            resource use; processes of one container
  /logs <service> [lines:N] [since:10m]
  /runbook list   /runbook help <id>   /runbook <id> [option:value …]
  /audit [count:N] [run:<id>]        recent runs; one run in detail
  any option as name:value, e.g. /logs service:adonisjs lines:50, host:<name> to pick a host
After a result:
  confirm, cancel                    answer its confirmation (also asked right away: y / n)
  rollback, logs                     its Roll back / Logs actions
  n, p, page N                       next, previous, Nth page of a long output
  save FILE                          write every output of the last result to FILE
Also: as viewer|operator|approver (switch role), hosts, help, quit`;

export async function runConsole(o: ConsoleOptions): Promise<void> {
  const out = o.output ?? process.stdout;
  const input = o.input ?? process.stdin;
  const p = new Painter(colourEnabled(out));
  const write = (text = '') => out.write(`${text}\n`);
  const db = openDatabase(o.databasePath);
  const store = new Store(db);
  const hosts = new Map<string, Host>(o.hosts.map((h) => [h.name, createHost(h)]));
  const engine = new Engine(store, hosts, o.engineConfig, o.log, allRunbooks);
  const user = (() => {
    try {
      return userInfo().username;
    } catch {
      return 'console';
    }
  })();
  let role = o.role;
  // One person at one terminal: switching role keeps the same id, so four-eyes still needs someone else.
  const actor = (): Actor => ({ id: `console:${user}`, name: `${user}@console`, roles: rolesFor(role) });
  const tty = (input as NodeJS.ReadStream).isTTY === true && out.isTTY === true;
  const rl = createInterface({ input, output: out, terminal: tty, historySize: tty ? 200 : 0 });
  // Buffered: a script piped in is read line by line as the console gets to each one.
  const lines = rl[Symbol.asyncIterator]();
  let closed = false;
  rl.on('SIGINT', () => {
    write('^C');
    rl.close();
  });
  rl.on('close', () => {
    closed = true;
  });
  const ask = async (prompt: string): Promise<string | undefined> => {
    // After the end of a piped script the interface is closed, but its lines are still buffered.
    if (closed) out.write(prompt);
    else {
      rl.setPrompt(prompt);
      rl.prompt();
    }
    const next = await lines.next();
    if (next.done === true) return undefined;
    if (!tty) write(next.value);
    return next.value.trim();
  };
  const pageLines = Math.max(10, (out.rows ?? 40) - 8);

  let last: RunView | undefined;
  let pager: { title: string; pages: string[]; at: number } | undefined;

  const showPage = () => {
    if (!pager) return;
    write(p.paint('dim', `┄┄ ${pager.title}: page ${pager.at + 1}/${pager.pages.length} ┄┄`));
    write(pager.pages[pager.at]);
  };
  /** Runs whose gate this console showed: one left open at quit is cancelled (nobody else sees it). */
  const gated = new Map<string, number>();
  /** Shows a result, then the runs it started (the next host of a rollout); returns the last one shown. */
  const show = (view: RunView): RunView => {
    last = view;
    if (view.gate) gated.set(view.runId, view.gate.stepIdx);
    const r = renderView(view, p, pageLines);
    write(r.lines.join('\n'));
    pager = r.paged ? { title: r.paged.block.title, pages: r.paged.pages, at: 0 } : undefined;
    if (pager) write(p.paint('yellow', `page 1/${pager.pages.length} of "${pager.title}": n next, p previous, page N, save FILE for all of it`));
    return view.next ? show(view.next) : view;
  };
  const notice = (text: string) => write(p.paint('yellow', redact(text)));

  const needs = (wanted: Role): boolean => {
    if (rolesFor(role).includes(wanted)) return true;
    notice(`You need the ${wanted} role (or above) for this; you are ${role} (start with --as ${wanted}, or type: as ${wanted}). Nothing was run.`);
    return false;
  };

  const runbookOf = (id: string): AnyRunbook | undefined => allRunbooks.find((r) => r.id === id);

  const audit = (req: Extract<ConsoleRequest, { kind: 'audit' }>): RunView => {
    if (req.run !== undefined) return engine.auditView(req.run);
    const runs = store.recentRuns(req.count);
    const text = runs
      .map((r) => {
        const when = new Date(r.created_at).toISOString().replace('T', ' ').slice(0, 19);
        const params = r.params === '{}' ? '' : ` ${Object.entries(JSON.parse(r.params) as Record<string, unknown>).map(([k, v]) => `${k}=${String(v)}`).join(' ')}`;
        const decided = store.approvalsOf(r.id).filter((a) => a.accepted === 1).map((a) => `${a.decision === 'confirm' ? '✔' : '✖'}${a.user_name}`).join(',');
        const took = r.finished_at === null ? '…' : `${((r.finished_at - r.created_at) / 1000).toFixed(1)}s`;
        return `${when}  ${r.id}  ${r.requested_by_name.padEnd(16)} ${`${r.runbook}${params}`.padEnd(28)} ${r.status.padEnd(21)} ${took.padStart(6)}${decided ? `  ${decided}` : ''}`;
      })
      .join('\n');
    return {
      runId: '-',
      title: `Audit: last ${runs.length} run${runs.length === 1 ? '' : 's'}`,
      status: 'succeeded',
      description: runs.length === 0 ? 'No runs recorded yet.' : 'Newest first. `/audit run:<id>` shows one run in detail.',
      fields: [],
      blocks: runs.length === 0 ? [] : [{ outputId: '-', title: 'runs', text: redact(text) }],
      actions: [],
      footer: `${store.countRuns()} runs recorded in ${o.databasePath}`,
    };
  };

  const execute = async (req: ConsoleRequest): Promise<RunView | undefined> => {
    switch (req.kind) {
      case 'list':
        write(allRunbooks.map((rb) => `  ${p.paint('bold', rb.id.padEnd(Math.max(...allRunbooks.map((r) => r.id.length))))} ${rb.summary} ${p.paint('dim', `(${rolesText(rb, o.engineConfig.gates.fourEyes).replace(/ \(.*\)$/, '')})`)}`).join('\n'));
        return undefined;
      case 'help': {
        const rb = runbookOf(req.runbook);
        if (rb) write(markdown(helpLines(rb, o.engineConfig.gates.fourEyes).join('\n'), p).join('\n'));
        return undefined;
      }
      case 'audit':
        return needs('viewer') ? audit(req) : undefined;
      case 'run': {
        const rb = runbookOf(req.runbook);
        if (!rb || !needs(rolesOf(rb, o.engineConfig.gates.fourEyes).start)) return undefined;
        const target = engine.checkTarget(rb.id, req.host);
        write(p.paint('dim', `… ${rb.id} on ${target.kind === 'host' ? target.name : `${target.name} (${target.hosts.join(', ')})`}`));
        return engine.startTarget({ runbook: rb.id, host: req.host, params: req.params, actor: actor(), channelId: null });
      }
    }
  };

  /** Runs an action of the last result (a button in Discord), with the router's role checks. */
  const act = async (word: string): Promise<RunView | undefined> => {
    const action = last?.actions.find((a) => !a.disabled && actionWord(a.id) === word);
    if (!last || !action) {
      notice(`The last result has no ${word} action.`);
      return undefined;
    }
    const [kind, a, b, c, hash] = action.id.split(':');
    if (kind === 'gate') {
      const decided = engine.authorize(a ?? '', Number(b), c === 'confirm' ? 'confirm' : 'cancel', actor(), hash);
      if (decided.decision === 'confirm') write(p.paint('dim', '… confirmed; running'));
      return engine.proceed(decided);
    }
    if (kind === 'rollback') return needs('operator') ? engine.rollback(a ?? '', actor(), null) : undefined;
    if (kind === 'logs') return needs('viewer') ? engine.start({ runbook: 'logs', host: a, params: { service: b, lines: 200 }, actor: actor(), channelId: null }) : undefined;
    return undefined;
  };

  /** A gate is answered right away; Enter alone leaves it open (`confirm`/`cancel` later, until it expires). */
  const answerGate = async (view: RunView): Promise<void> => {
    let current = view;
    while (current.gate) {
      const answer = (await ask(p.paint('yellow', 'Confirm? [y]es runs it, [n]o cancels, Enter decides later: ')))?.toLowerCase();
      if (answer === undefined || answer === '') return;
      const word = answer === 'y' || answer === 'yes' || answer === 'confirm' ? 'confirm' : answer === 'n' || answer === 'no' || answer === 'cancel' ? 'cancel' : undefined;
      if (!word) {
        notice('Answer y or n (or press Enter to decide later).');
        continue;
      }
      const next = await guarded(() => act(word));
      if (!next) return;
      current = show(next);
    }
  };

  const guarded = async (work: () => Promise<RunView | undefined>): Promise<RunView | undefined> => {
    try {
      return await work();
    } catch (err) {
      if (isUserError(err)) notice(err.message);
      else {
        o.log.error({ err }, 'console command failed');
        notice(`Something went wrong: ${(err as Error).message}`);
      }
      return undefined;
    }
  };

  write(p.paint('bold', `opsbot console — ${[...hosts.keys()].join(', ')} (${o.source})`));
  write(`You are ${user} with the ${role} role. Type help for the commands, quit to leave.`);
  try {
    for (;;) {
      const line = await ask(`${p.paint('cyan', `${role}@${engine.host().name}`)}> `);
      if (line === undefined || line === 'quit' || line === 'exit') break;
      if (line === '') {
        if (pager && pager.at < pager.pages.length - 1) {
          pager.at++;
          showPage();
        }
        continue;
      }
      const [word = '', arg] = line.split(/\s+/, 2);
      if (word === 'help' || word === '?') write(HELP);
      else if (word === 'hosts') write([...hosts.values()].map((h) => `  ${p.paint('bold', h.name)}  ${h.transport.description}  ${h.config.projectDir}`).join('\n'));
      else if (word === 'as') {
        if ((ROLES as readonly string[]).includes(arg ?? '')) {
          role = arg as Role;
          write(`You now have the ${role} role.`);
        } else notice(`as viewer, as operator or as approver.`);
      } else if (word === 'n' || word === 'p' || word === 'page') {
        if (!pager) notice('No long output to page through.');
        else {
          const to = word === 'n' ? pager.at + 1 : word === 'p' ? pager.at - 1 : Number(arg) - 1;
          if (!Number.isInteger(to) || to < 0 || to >= pager.pages.length) notice(`Pages 1–${pager.pages.length}.`);
          else {
            pager.at = to;
            showPage();
          }
        }
      } else if (word === 'save') {
        if (!last || last.blocks.length === 0 || arg === undefined) notice(arg === undefined ? 'save FILE' : 'The last result has no output to save.');
        else {
          try {
            writeFileSync(arg, last.blocks.map((b) => `# ${b.title}\n${b.text.replace(/\n$/, '')}\n`).join('\n'), { flag: 'wx' });
            write(`Wrote ${last.blocks.length} output${last.blocks.length === 1 ? '' : 's'} to ${arg}.`);
          } catch (err) {
            notice(`Cannot write ${arg}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
          }
        }
      } else if (['confirm', 'cancel', 'rollback', 'logs'].includes(word) && arg === undefined) {
        const view = await guarded(() => act(word));
        if (view) await answerGate(show(view));
      } else {
        const view = await guarded(async () => execute(parseCommand(line, allRunbooks)));
        if (view) await answerGate(show(view));
      }
    }
    for (const [runId, stepIdx] of gated) {
      if (store.getRun(runId)?.status !== 'awaiting_confirmation') continue;
      const cancelled = await guarded(() => engine.decide(runId, stepIdx, 'cancel', actor()));
      if (cancelled) write(`Cancelled the confirmation left open: ${cancelled.title} (run ${runId}); nothing was run.`);
    }
  } finally {
    rl.close();
    await Promise.all([...hosts.values()].map((h) => h.close()));
    db.close();
  }
}
