import { z } from 'zod';
import { UserError } from '../src/engine/errors.js';
import { defineRunbook, type StepContext } from '../src/engine/runbook.js';
import type { Host } from '../src/host/index.js';
import { READ_KEYS, botKeyFingerprint, fingerprintOf, parseAuthorizedKeys, type AuthorizedKey } from './ssh-keys.js';

const params = z.object({
  key: z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^\s"'`$\\]+( [^\s"'`$\\]+)*$/, 'must be a key fingerprint (SHA256:…) or the key comment exactly as /runbook ssh-audit shows it')
    .describe('The key to revoke: its SHA256:… fingerprint or its comment (e.g. alice@laptop), as ssh-audit lists them'),
  /** Recorded by the first step for the rollback: the fingerprint and the exact line(s) removed. */
  fingerprint: z.string().optional(),
  line: z.string().optional(),
});
type Params = z.infer<typeof params>;

const FILE = '.ssh/authorized_keys';
/** sed deletes every line holding the blob: the same lines the first step records. */
const deleteArgv = (blob: string) => ['sed', '-i', `\\#${blob}#d`, FILE];

async function readKeys(host: Host, exec?: StepContext<Params>['exec']): Promise<string> {
  const res = exec ? await exec(READ_KEYS, { cwd: null }) : await host.exec(READ_KEYS, { cwd: null });
  if (res.exitCode !== 0) throw new UserError('revoke.unreadable', `Cannot read ~/${FILE} on ${host.name} (exit ${res.exitCode}). Nothing was changed.`);
  return res.stdout;
}

/** The one key the param names, refused when it is unknown, ambiguous or the bot's own. */
async function target(host: Host, text: string, wanted: string): Promise<AuthorizedKey> {
  const keys = parseAuthorizedKeys(text);
  const byFp = keys.filter((k) => k.fingerprint === wanted);
  const matches = byFp.length > 0 ? byFp : keys.filter((k) => k.comment === wanted);
  const blobs = new Set(matches.map((k) => k.blob));
  if (blobs.size === 0) throw new UserError('revoke.no-such-key', `No key in ~/${FILE} on ${host.name} has the fingerprint or comment "${wanted}". /runbook ssh-audit lists them. Nothing was changed.`);
  if (blobs.size > 1) throw new UserError('revoke.ambiguous', `${blobs.size} different keys on ${host.name} have the comment "${wanted}"; name one by its fingerprint (/runbook ssh-audit). Nothing was changed.`);
  const key = matches[0] as AuthorizedKey;
  if (key.fingerprint === (await botKeyFingerprint(host))) {
    throw new UserError('revoke.own-key', `${key.fingerprint} is the key the bot itself connects to ${host.name} with: revoking it would lock the bot out, so the bot refuses. Replace the bot's key on the host by hand (docs/security.md). Nothing was changed.`);
  }
  return key;
}

/** The lines the sed removes: every one holding the blob (a key listed twice goes with all its lines). */
const linesWith = (text: string, blob: string) => text.split('\n').filter((l) => l.includes(blob));

export const sshRevoke = defineRunbook({
  id: 'ssh-revoke',
  title: (p: Params) => `Revoke SSH key ${p.key}`,
  summary: "Removes one key (by fingerprint or comment) from the deploy user's authorized_keys, four-eyes; the rollback puts the removed line back.",
  docs: {
    seedSection: 'User Access & SSH Audit',
    trigger: ['Team member offboarding', 'A key found in /runbook ssh-audit that should not have access', 'Security incident'],
    expected: ["The key is gone from the deploy user's authorized_keys; everyone else's access is unchanged"],
    escalation: ['Sudo or docker group membership (`deluser username docker|sudo`) needs root: escalate to a senior DevOps engineer', 'Security incident: notify the security team'],
  },
  params,
  internalParams: ['fingerprint', 'line'],
  fourEyes: true,
  target: () => 'ssh:authorized_keys',
  steps: [
    {
      title: 'Find the key',
      mutates: false,
      async run({ host, params: p, exec }) {
        const text = await readKeys(host, exec);
        const key = await target(host, text, p.key);
        const lines = linesWith(text, key.blob);
        return {
          ok: true,
          summary: `${key.fingerprint} ${key.type} ${key.comment || '(no comment)'}${lines.length > 1 ? ` (${lines.length} lines)` : ''}`,
          fields: [
            { name: 'Fingerprint', value: key.fingerprint, record: 'fingerprint' },
            { name: 'Line to remove (restored by the rollback)', value: lines.join('\n'), record: 'line' },
          ],
        };
      },
    },
    {
      title: 'Remove the key from authorized_keys',
      mutates: true,
      plan: async ({ host, params: p }) => [deleteArgv((await target(host, await readKeys(host), p.key)).blob)],
      async run({ host, params: p, exec }) {
        const key = await target(host, await readKeys(host, exec), p.key);
        const res = await exec(deleteArgv(key.blob), { cwd: null });
        if (res.exitCode !== 0) return { ok: false, summary: `sed exited ${res.exitCode}: ${res.stderr.trim().slice(0, 200)}` };
        const left = parseAuthorizedKeys(await readKeys(host, exec));
        const gone = !left.some((k) => k.blob === key.blob);
        return { ok: gone, summary: gone ? `removed; ${left.length} key${left.length === 1 ? '' : 's'} left` : 'the key is still there after sed' };
      },
    },
  ],
  // A revocation is kept unless someone takes it back: the rollback is offered after success too.
  rollbackAfterSuccess: true,
  rollback: [
    {
      title: 'Put the removed key line back',
      mutates: true,
      plan: async ({ params: p }) => {
        const lines = (p.line ?? '').split('\n').filter(Boolean);
        const keys = parseAuthorizedKeys(lines.join('\n'));
        // The recorded line went through the store: restore it only if it is still exactly that key.
        if (lines.length === 0 || keys.length !== lines.length || keys.some((k) => k.fingerprint !== p.fingerprint) || fingerprintOf(Buffer.from(keys[0]?.blob ?? '', 'base64')) !== p.fingerprint) {
          throw new UserError('rollback.no-record', 'The run recorded no intact key line to restore; nothing was run. Add the key back by hand from its owner’s public key.');
        }
        return [['tee', '-a', FILE]];
      },
      async run({ host, params: p, exec }) {
        const text = await readKeys(host, exec);
        if (parseAuthorizedKeys(text).some((k) => k.fingerprint === p.fingerprint)) return { ok: true, summary: `${p.fingerprint} is already there; nothing written` };
        const lines = (p.line ?? '').split('\n').filter(Boolean).join('\n');
        // Appending to a file without a final newline would glue the key onto the last line.
        const res = await exec(['tee', '-a', FILE], { cwd: null, input: `${text === '' || text.endsWith('\n') ? '' : '\n'}${lines}\n` });
        if (res.exitCode !== 0) return { ok: false, summary: `tee exited ${res.exitCode}: ${res.stderr.trim().slice(0, 200)}` };
        const back = parseAuthorizedKeys(await readKeys(host, exec)).some((k) => k.fingerprint === p.fingerprint);
        return { ok: back, summary: back ? `${p.fingerprint} restored` : 'the line was appended but the key is not readable there' };
      },
    },
  ],
});
