/**
 * The one place where an argv array becomes shell text. Every host command is built as an argv
 * array and quoted here, so no user-supplied text is ever interpreted by a shell.
 */
const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function quoteArg(arg: string): string {
  if (arg.includes('\0')) throw new Error('argument contains a NUL byte');
  if (arg.length > 0 && SAFE.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `cd <cwd> && exec <argv…>`, every part quoted. */
export function commandLine(argv: readonly string[], cwd?: string): string {
  if (argv.length === 0) throw new Error('empty argv');
  const cmd = argv.map(quoteArg).join(' ');
  return cwd === undefined ? `exec ${cmd}` : `cd ${quoteArg(cwd)} && exec ${cmd}`;
}

/** How a command is shown to people (confirm embeds, audit): readable, and exactly what runs. */
export function displayCommand(argv: readonly string[]): string {
  return argv.map(quoteArg).join(' ');
}
