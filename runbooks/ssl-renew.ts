import { z } from 'zod';
import { UserError } from '../src/engine/errors.js';
import { serviceOf } from '../src/engine/parts.js';
import { defineRunbook, type StepContext, type StepOutcome, type Suggestion } from '../src/engine/runbook.js';
import type { Host } from '../src/host/index.js';

/** A certbot certificate (lineage) name: a domain name, never a path or an option. */
const certName = z.string().max(253).regex(/^[A-Za-z0-9][A-Za-z0-9.-]*$/, 'must be a certificate name as `certbot certificates` lists it (a domain name)');

const params = z.object({
  certificate: certName.optional().describe('Only this certificate (default: every certificate certbot finds due)'),
  /** `domain=generation,…`: the files each live certificate pointed at before the run; the rollback points back at them. */
  previous: z.string().regex(/^([A-Za-z0-9][A-Za-z0-9.-]*=\d{1,4})(,[A-Za-z0-9][A-Za-z0-9.-]*=\d{1,4})*$/).optional(),
});
type Params = z.infer<typeof params>;

/** certbot renews what expires within this many days (its default `renew_before_expiry`). */
const RENEW_BEFORE_DAYS = 30;
const LE = '/etc/letsencrypt';
const KINDS = ['cert', 'chain', 'fullchain', 'privkey'] as const;

export interface Certificate {
  name: string;
  expiry: string;
  daysLeft: number | null;
}

/** certbot's certificates on the host, read in the proxy's container (no compose start-up); none when it cannot say. */
async function certificatesOn(host: Host): Promise<Certificate[]> {
  const res = await host.exec(['docker', 'exec', await containerName(host), 'certbot', 'certificates'], { timeoutMs: 20_000 });
  return res.exitCode === 0 ? parseCertificates(res.stdout) : [];
}

/** The certificates of `certbot certificates` output: name, expiry date, days left (null when expired or unreadable). */
export function parseCertificates(out: string): Certificate[] {
  const certs: Certificate[] = [];
  for (const block of out.split(/^\s*Certificate Name:\s*/m).slice(1)) {
    const name = block.split('\n')[0]?.trim() ?? '';
    const m = /Expiry Date:\s*(\S+ \S+)\s*\((?:VALID: (\d+) days?|([^)]*))\)/.exec(block);
    if (name) certs.push({ name, expiry: m?.[1] ?? 'unknown', daysLeft: m?.[2] !== undefined ? Number(m[2]) : null });
  }
  return certs;
}

const line = (c: Certificate) => `${c.name.padEnd(40)} ${c.expiry.padEnd(26)} ${c.daysLeft === null ? 'EXPIRED/INVALID' : `${c.daysLeft} days`}`;
const table = (certs: Certificate[]) => ['CERTIFICATE'.padEnd(40) + ' EXPIRES'.padEnd(27) + ' LEFT', ...certs.map(line)].join('\n');

const proxyOf = (host: Host) => serviceOf(host.config, 'proxy');
// Without a terminal certbot waits a random time (up to 8 min) before renewing, meant for cron
// jobs; a person at a gate is waiting for the result.
const renewArgs = (p: Params, dryRun: boolean) => ['certbot', 'renew', ...(dryRun ? ['--dry-run'] : []), '--no-random-sleep-on-renew', ...(p.certificate ? ['--cert-name', p.certificate] : [])];

async function certbot(ctx: StepContext<Params>, args: string[]) {
  return ctx.compose(['exec', '-T', proxyOf(ctx.host), ...args], { timeoutMs: 180_000 });
}

async function listCertificates(ctx: StepContext<Params>): Promise<{ certs: Certificate[]; out: string } | StepOutcome> {
  const res = await certbot(ctx, ['certbot', 'certificates']);
  const out = (res.stdout + res.stderr).trim();
  if (res.exitCode !== 0) return { ok: false, summary: `certbot certificates exited ${res.exitCode ?? 'without a code'}`, output: out || '(no output)', outputTitle: 'certbot certificates' };
  const all = parseCertificates(out);
  const certs = ctx.params.certificate ? all.filter((c) => c.name === ctx.params.certificate) : all;
  if (ctx.params.certificate && certs.length === 0) throw new UserError('ssl.unknown-certificate', `certbot has no certificate "${ctx.params.certificate}". It has: ${all.map((c) => c.name).join(', ') || 'none'}. Nothing was changed.`);
  return { certs, out };
}

/** Outcome of a `certbot renew`: the names it renewed, from its summary. */
const renewedIn = (out: string) => [...out.matchAll(/\/live\/([^/\s]+)\/fullchain\.pem \(success\)/g)].map((m) => m[1] ?? '');

const containerName = async (host: Host) => {
  const c = await host.requireContainer(proxyOf(host));
  return (c.Names[0] ?? c.Id).replace(/^\//, '');
};

/** `ln -sfn` of each live file back to the recorded generation, by `docker exec` (no compose start-up per file). */
const relinkPlan = async (host: Host, p: Params): Promise<string[][]> => {
  if (!p.previous) throw new UserError('rollback.no-record', 'The run recorded no previous certificate files; nothing was run. `/runbook ssl-renew` lists the certificates as they are.');
  const container = await containerName(host);
  return p.previous.split(',').flatMap((entry) => {
    const [domain = '', gen = ''] = entry.split('=');
    return KINDS.map((kind) => ['docker', 'exec', container, 'ln', '-sfn', `../../archive/${domain}/${kind}${gen}.pem`, `${LE}/live/${domain}/${kind}.pem`]);
  });
};

export const sslRenew = defineRunbook({
  id: 'ssl-renew',
  title: (p: Params) => (p.certificate ? `Renew SSL certificate ${p.certificate}` : 'Renew SSL certificates'),
  summary: 'certbot certificates, renew --dry-run, then (confirmed) renew and reload the reverse proxy; verifies the new expiry.',
  docs: {
    seedSection: 'Renew SSL Certificates',
    trigger: ['Certificate expiration within 30 days', 'Certificate expiration alerts', 'Security audit findings'],
    expected: ['Certificates renewed successfully', 'No service interruption', 'New expiration date verified'],
    escalation: ['If renewal fails: contact the infrastructure team (certbot output is in the run)', 'If service disruption: roll back to the previous certificate files and follow the incident response plan'],
  },
  params,
  needs: ['proxy'],
  internalParams: ['previous'],
  // certbot runs inside the proxy's container and the run ends by reloading it: a /restart or
  // deploy of the proxy meanwhile would kill a renewal half done, so the run holds the proxy.
  target: (_p, host) => `service:${serviceOf(host, 'proxy')}`,
  complete: {
    certificate: async (host: Host): Promise<Suggestion[]> =>
      (await certificatesOn(host))
        .sort((a, b) => (a.daysLeft ?? -1) - (b.daysLeft ?? -1))
        .map((cert) => ({ value: cert.name, label: `${cert.name} — ${cert.daysLeft === null ? 'expired' : `${cert.daysLeft} days left`}` })),
  },
  // A certificate name certbot does not know is refused before the run, with the names it does know.
  async check(host, p) {
    if (p.certificate === undefined) return;
    const names = (await certificatesOn(host)).map((c) => c.name);
    if (names.length > 0 && !names.includes(p.certificate)) {
      throw new UserError('ssl.unknown-certificate', `certbot has no certificate "${p.certificate}" on host "${host.name}". Its certificates: ${names.join(', ')}. Nothing was run.`);
    }
  },
  steps: [
    {
      title: 'Certificate status',
      mutates: false,
      async run(ctx) {
        const listed = await listCertificates(ctx);
        if (!('certs' in listed)) return listed;
        const { certs } = listed;
        // Which archive generation each live certificate uses now: the rollback points back at it.
        const container = await containerName(ctx.host);
        const previous: string[] = [];
        for (const cert of certs) {
          const res = await ctx.exec(['docker', 'exec', container, 'ls', '-l', '--full-time', `${LE}/live/${cert.name}`]);
          const gen = new RegExp(`cert\\.pem -> \\S*/cert(\\d+)\\.pem`).exec(res.stdout)?.[1];
          if (gen) previous.push(`${cert.name}=${gen}`);
        }
        const due = certs.filter((x) => x.daysLeft === null || x.daysLeft <= RENEW_BEFORE_DAYS);
        return {
          ok: true,
          summary: `${certs.length} certificate${certs.length === 1 ? '' : 's'}; ${due.length === 0 ? 'none due' : `due within ${RENEW_BEFORE_DAYS} days: ${due.map((x) => `${x.name} (${x.daysLeft ?? 'expired'}${x.daysLeft === null ? '' : ' days'})`).join(', ')}`}`,
          fields: previous.length > 0 ? [{ name: 'Live files before', value: previous.join(','), inline: false, record: 'previous' }] : [],
          output: table(certs),
          outputTitle: 'certbot certificates',
        };
      },
    },
    {
      title: 'Renewal dry run',
      mutates: false,
      async run(ctx) {
        const res = await certbot(ctx, renewArgs(ctx.params, true));
        const out = (res.stdout + res.stderr).trim();
        const ok = res.exitCode === 0;
        const simulated = renewedIn(out);
        return {
          ok,
          summary: ok ? (simulated.length > 0 ? `simulated renewal succeeded: ${simulated.join(', ')}` : 'no certificate is due; a renewal would change nothing') : `certbot renew --dry-run exited ${res.exitCode ?? 'without a code'}: the renewal would fail; nothing was changed`,
          output: out || '(no output)',
          outputTitle: 'certbot renew --dry-run',
        };
      },
    },
    {
      title: 'Renew',
      mutates: true,
      plan: async ({ host, params: p }) => [await host.composeArgv(['exec', '-T', proxyOf(host), ...renewArgs(p, false)])],
      async run(ctx) {
        const res = await certbot(ctx, renewArgs(ctx.params, false));
        const out = (res.stdout + res.stderr).trim();
        const renewed = renewedIn(out);
        if (res.exitCode !== 0) return { ok: false, summary: `certbot renew exited ${res.exitCode ?? 'without a code'}${renewed.length > 0 ? ` (renewed: ${renewed.join(', ')})` : ''}; roll back to put the previous certificate files back`, output: out || '(no output)', outputTitle: 'certbot renew' };
        return { ok: true, summary: renewed.length > 0 ? `renewed: ${renewed.join(', ')}` : 'nothing was due; no certificate changed', output: out, outputTitle: 'certbot renew' };
      },
    },
    {
      title: 'Reload the reverse proxy',
      mutates: true,
      plan: async ({ host }) => [await host.composeArgv(['kill', '-s', 'SIGHUP', proxyOf(host)])],
      async run(ctx) {
        const res = await ctx.compose(['kill', '-s', 'SIGHUP', proxyOf(ctx.host)]);
        return { ok: res.exitCode === 0, summary: res.exitCode === 0 ? 'SIGHUP sent; it reloads its certificates' : `exit code ${res.exitCode ?? 'none'}`, ...(res.stderr.trim() ? { output: res.stderr.trim(), outputTitle: 'compose kill output' } : {}) };
      },
    },
    {
      title: 'Verify the new expiry',
      mutates: false,
      async run(ctx) {
        const listed = await listCertificates(ctx);
        if (!('certs' in listed)) return listed;
        const due = listed.certs.filter((c) => c.daysLeft === null || c.daysLeft <= RENEW_BEFORE_DAYS);
        return {
          ok: due.length === 0,
          summary: due.length === 0 ? `every certificate is valid for more than ${RENEW_BEFORE_DAYS} days: ${listed.certs.map((c) => `${c.name} until ${c.expiry.slice(0, 10)}`).join(', ')}` : `still due: ${due.map((c) => `${c.name} (${c.daysLeft ?? 'expired'})`).join(', ')}`,
          output: table(listed.certs),
          outputTitle: 'certbot certificates after the renewal',
        };
      },
    },
  ],
  // A renewed certificate can turn out wrong (chain, key type) after the fact: putting the previous
  // files back stays possible within the rollback window, as the seed's rollback section does.
  rollbackAfterSuccess: true,
  rollbackLabel: 'Restore the previous certificates',
  rollback: [
    {
      title: 'Point the live certificates at the previous files',
      mutates: true,
      plan: async ({ host, params: p }) => [...(await relinkPlan(host, p)), await host.composeArgv(['kill', '-s', 'SIGHUP', proxyOf(host)])],
      async run(ctx) {
        const plans = await relinkPlan(ctx.host, ctx.params);
        const proxy = proxyOf(ctx.host);
        const outs: string[] = [];
        for (const argv of plans) {
          const res = await ctx.exec(argv);
          if (res.exitCode !== 0) return { ok: false, summary: `${argv.slice(3).join(' ')} exited ${res.exitCode ?? 'without a code'}`, output: (res.stdout + res.stderr).trim() || '(no output)' };
          outs.push(argv.slice(3).join(' '));
        }
        const sighup = await ctx.compose(['kill', '-s', 'SIGHUP', proxy]);
        const listed = await listCertificates(ctx);
        const certs = 'certs' in listed ? listed.certs : [];
        return {
          ok: sighup.exitCode === 0,
          summary: `restored ${ctx.params.previous ?? ''}; ${sighup.exitCode === 0 ? `${proxy} reloaded` : `SIGHUP to ${proxy} failed`}`,
          output: `${outs.join('\n')}\n\n${table(certs)}`,
          outputTitle: 'restored links and certbot certificates',
        };
      },
    },
  ],
});
