import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { Host } from '../src/host/index.js';

/** One key line of an authorized_keys file (sshd(8) AUTHORIZED_KEYS FILE FORMAT). */
export interface AuthorizedKey {
  line: string;
  options: string;
  type: string;
  blob: string;
  comment: string;
  /** `SHA256:…` as `ssh-keygen -lf` prints it. */
  fingerprint: string;
}

const KEY_TYPE = /^(ssh-(ed25519|rsa|dss)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)(-cert-v01@openssh\.com)?$/;

export const fingerprintOf = (blob: Buffer): string => `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;

/**
 * Splits a line into words the way sshd reads the options field: spaces separate words except
 * inside double quotes (`command="a b"`), where \" escapes a quote.
 */
function words(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] ?? '';
    if (quoted && c === '\\' && line[i + 1] === '"') {
      cur += '\\"';
      i++;
    } else if (c === '"') {
      quoted = !quoted;
      cur += c;
    } else if (!quoted && (c === ' ' || c === '\t')) {
      if (cur) out.push(cur);
      cur = '';
    } else cur += c;
  }
  if (cur) out.push(cur);
  return out;
}

/** The key lines of an authorized_keys file; comments, blank and unreadable lines are skipped. */
export function parseAuthorizedKeys(text: string): AuthorizedKey[] {
  const keys: AuthorizedKey[] = [];
  for (const line of text.split('\n')) {
    if (/^\s*(#|$)/.test(line)) continue;
    const w = words(line.trim());
    const at = w.findIndex((x) => KEY_TYPE.test(x));
    const blob = at >= 0 ? w[at + 1] : undefined;
    if (at < 0 || at > 1 || blob === undefined || !/^[A-Za-z0-9+/]+={0,2}$/.test(blob)) continue;
    keys.push({ line, options: at === 1 ? (w[0] ?? '') : '', type: w[at] ?? '', blob, comment: w.slice(at + 2).join(' '), fingerprint: fingerprintOf(Buffer.from(blob, 'base64')) });
  }
  return keys;
}

/** The options of a key, short: `command="…"` and `from="…"` values elided, flags kept. */
export const optionsShort = (options: string): string => options.replace(/="(?:[^"\\]|\\.)*"/g, '="…"');

/**
 * The fingerprint of the key the bot connects to this host with (its private key file, through
 * ssh2 which node-ssh uses): never offered for revocation. Null when the host is local or the
 * key cannot be read here.
 */
export async function botKeyFingerprint(host: Host): Promise<string | null> {
  if (host.config.transport !== 'ssh') return null;
  try {
    const { default: ssh2 } = await import('ssh2');
    const key = ssh2.utils.parseKey(await readFile(host.config.keyPath, 'utf8'));
    const k = Array.isArray(key) ? key[0] : key;
    if (!k || k instanceof Error) return null;
    return fingerprintOf(k.getPublicSSH());
  } catch {
    return null;
  }
}

/** `cat .ssh/authorized_keys` in the login user's home (the guard allows it without a project dir). */
export const READ_KEYS = ['cat', '.ssh/authorized_keys'];
