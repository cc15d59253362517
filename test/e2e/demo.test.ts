import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** Runs `test/demo.ts` with a script on its stdin (as `npm run demo:discord` with a pipe), killed after `limitMs`. */
function runDemo(lines: string[], limitMs: number): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  // Its own process group: tsx runs the script in a child process, which a hung demo must not outlive.
  const child = spawn(join('node_modules', '.bin', 'tsx'), ['test/demo.ts'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  child.stdin.end(lines.map((l) => `${l}\n`).join(''));
  const killer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), limitMs);
  return new Promise((resolve) => {
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

describe('npm run demo:discord', () => {
  it('restarts after Confirm, then takes the next command and quits', async () => {
    // Before the fix, the demo waited a minute for a reply that a confirmed click never gets.
    const res = await runDemo(['/restart adonisjs', 'click confirm', '/audit count:1', 'quit'], 55_000);
    const out = res.stdout;
    expect(res.code, `exit after ${res.ms} ms\n${out.slice(-3000)}\n${res.stderr.slice(-2000)}`).toBe(0);
    const afterClick = out.slice(out.indexOf('click confirm'));
    expect(afterClick).toMatch(/✅ \*\*Restart\*\*/);
    expect(afterClick).toMatch(/✅ \*\*Verify\*\* — healthy/);
    expect(afterClick).toMatch(/Requested by @operator · confirmed by @operator/);
    const afterAudit = out.slice(out.indexOf('/audit count:1'));
    expect(afterAudit).toMatch(/== Audit: last 1 run ==/);
    expect(afterAudit).toMatch(/restart service=adonisjs +succeeded/);
  }, 70_000);
});
