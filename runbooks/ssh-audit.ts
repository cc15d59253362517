import { z } from 'zod';
import { defineRunbook } from '../src/engine/runbook.js';
import { plural } from './on-host.js';
import { READ_KEYS, botKeyFingerprint, optionsShort, parseAuthorizedKeys } from './ssh-keys.js';

const params = z.object({});

/** An address of /proc/net/tcp{,6}: little-endian hex words. */
function procAddress(hex: string): string {
  const [addr = '', port = ''] = hex.split(':');
  const p = Number.parseInt(port, 16);
  if (addr.length === 8) return `${(addr.match(/../g) ?? []).reverse().map((b) => Number.parseInt(b, 16)).join('.')}:${p}`;
  const groups = (addr.match(/.{8}/g) ?? []).flatMap((w) => (w.match(/../g) ?? []).reverse()).join('');
  const v6 = (groups.match(/.{4}/g) ?? []).map((g) => g.replace(/^0{1,3}/, '')).join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
  return `[${v6}]:${p}`;
}

/** Listening TCP sockets (state 0A) of `cat /proc/net/tcp /proc/net/tcp6`, deduplicated, by port. */
export function listeningPorts(text: string): string[] {
  const seen = new Set<string>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[3] === '0A' && f[1]?.includes(':')) seen.add(procAddress(f[1]));
  }
  return [...seen].sort((a, b) => Number(a.split(':').at(-1)) - Number(b.split(':').at(-1)) || a.localeCompare(b));
}

export const sshAudit = defineRunbook({
  id: 'ssh-audit',
  title: 'SSH and access audit',
  summary: "The deploy user's authorized keys (fingerprint, type, comment), NOPASSWD sudoers lines, docker group members, firewall and listening ports, read-only.",
  docs: {
    seedSection: 'User Access & SSH Audit',
    trigger: ['Team member onboarding/offboarding', 'Security incident', 'Quarterly security review'],
    expected: ['Only the keys and accounts that should have access have it', 'No unexpected NOPASSWD sudo rules or docker group members', 'Only expected ports listening'],
    escalation: ['Unknown key or account: `/runbook ssh-revoke` (four-eyes) and notify the security team', 'Sudoers or firewall changes need root on the host: escalate to a senior DevOps engineer'],
  },
  params,
  steps: [
    {
      title: 'Authorized keys',
      mutates: false,
      async run({ host, exec }) {
        const res = await exec(READ_KEYS, { cwd: null });
        if (res.exitCode !== 0) return { ok: true, summary: `⚠️ cannot read ~/.ssh/authorized_keys (exit ${res.exitCode}): ${res.stderr.trim().slice(0, 200)}` };
        const keys = parseAuthorizedKeys(res.stdout);
        const mine = await botKeyFingerprint(host);
        const lines = keys.map((k) => `${k.fingerprint}  ${k.type}  ${k.comment || '(no comment)'}${k.options ? `  [${optionsShort(k.options)}]` : ''}${k.fingerprint === mine ? '  ← the bot' : ''}`);
        return {
          ok: true,
          summary: `${plural(keys.length, 'key')} for ${host.config.transport === 'ssh' ? host.config.user : 'the bot user'}${mine && keys.some((k) => k.fingerprint === mine) ? ' (one is the bot’s own)' : ''}`,
          output: lines.join('\n') || '(no keys)',
          outputTitle: 'authorized_keys: fingerprint, type, comment, options',
        };
      },
    },
    {
      title: 'NOPASSWD sudo rules',
      mutates: false,
      async run({ exec }) {
        const res = await exec(['grep', '-rsH', 'NOPASSWD', '/etc/sudoers', '/etc/sudoers.d'], { cwd: null });
        const rules = res.stdout.split('\n').filter((l) => l.trim() && !/:\s*#/.test(l));
        return {
          ok: true,
          summary: rules.length === 0 ? 'none in the files this user can read (sudoers files are usually root-only)' : `⚠️ ${plural(rules.length, 'NOPASSWD rule')}`,
          ...(rules.length ? { output: rules.join('\n'), outputTitle: 'NOPASSWD lines' } : {}),
        };
      },
    },
    {
      title: 'Docker group',
      mutates: false,
      async run({ exec }) {
        const res = await exec(['getent', 'group', 'docker'], { cwd: null });
        if (res.exitCode === 2) return { ok: true, summary: 'there is no docker group' };
        if (res.exitCode !== 0) return { ok: true, summary: `⚠️ getent exited ${res.exitCode}` };
        const members = (res.stdout.trim().split(':')[3] ?? '').split(',').filter(Boolean);
        return { ok: true, summary: members.length === 0 ? 'no members besides primary groups' : `${plural(members.length, 'member')}: ${members.join(', ')} (each is root-equivalent on this host)` };
      },
    },
    {
      title: 'Firewall',
      mutates: false,
      async run({ exec }) {
        const res = await exec(['ufw', 'status'], { cwd: null });
        if (res.exitCode === 127) return { ok: true, summary: '⚠️ ufw is not installed: no host firewall through ufw (check iptables/nftables or the provider firewall)' };
        const out = (res.stdout + res.stderr).trim();
        if (res.exitCode !== 0) return { ok: true, summary: `ufw status needs root here (exit ${res.exitCode}): ${out.split('\n')[0]?.slice(0, 200) ?? ''}` };
        return { ok: true, summary: out.split('\n')[0] ?? 'ufw answered', output: out, outputTitle: 'ufw status' };
      },
    },
    {
      title: 'Listening ports',
      mutates: false,
      async run({ exec }) {
        const res = await exec(['cat', '/proc/net/tcp', '/proc/net/tcp6'], { cwd: null });
        const ports = listeningPorts(res.stdout);
        const open = ports.filter((p) => !/^(127\.|\[::1\])/.test(p));
        return {
          ok: true,
          summary: `${plural(ports.length, 'listening socket')}, ${open.length} beyond loopback`,
          output: ports.join('\n') || '(none)',
          outputTitle: 'listening TCP sockets (address:port)',
        };
      },
    },
  ],
});
