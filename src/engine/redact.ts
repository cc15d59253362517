/**
 * Redaction applied to everything a host prints before it is stored, logged or shown. It errs on
 * the side of hiding too much: a hidden harmless value costs a glance, a shown secret costs a
 * rotation.
 */
const MASK = '[redacted]';
const SECRET_WORD = String.raw`(?:KEY|SECRET|TOKEN|PASSWORD|PASSWD|PASS|PWD|CREDENTIALS?|AUTH)`;

const rules: [RegExp, string | ((...m: string[]) => string)][] = [
  // PEM private keys, including a truncated one with no END line.
  [/-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g, `-----BEGIN $1PRIVATE KEY----- ${MASK} -----END $1PRIVATE KEY-----`],
  [/\b(Bearer|Basic)\s+[A-Za-z0-9\-._~+/]+=*/gi, `$1 ${MASK}`],
  // "someToken": "value" in JSON.
  [new RegExp(String.raw`("[\w.-]*${SECRET_WORD}[\w.-]*"\s*:\s*)"(?:[^"\\]|\\.)*"`, 'gi'), `$1"${MASK}"`],
  // KEY=value, KEY: value, export KEY='value' (env files, compose config, YAML).
  [new RegExp(String.raw`(\b[\w.-]*${SECRET_WORD}[\w.-]*\s*[=:]\s*)(?:"[^"\n]*"|'[^'\n]*'|[^\s"'\\]+)`, 'gi'), `$1${MASK}`],
  [/\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, MASK],
  [/\bgh[pousr]_[A-Za-z0-9]{16,}\b/g, MASK],
  [/\b(xox[abprs]-)[A-Za-z0-9-]{10,}/g, MASK],
  [/\b[MN][A-Za-z\d_-]{23,}\.[\w-]{6}\.[\w-]{27,}\b/g, MASK],
  // Credentials inside URLs: scheme://user:password@host
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]+:)[^\s@/]+@/gi, `$1${MASK}@`],
];

const extraSecrets = new Set<string>();

/** Registers a literal value (e.g. the bot token) that must never appear anywhere. */
export function addSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= 6) extraSecrets.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const secret of extraSecrets) out = out.split(secret).join(MASK);
  for (const [pattern, replacement] of rules) {
    out = out.replace(pattern, replacement as string);
  }
  return out;
}
