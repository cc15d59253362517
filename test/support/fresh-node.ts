import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Runs an ES module `code` in a fresh Node process (a clean module cache; TypeScript through tsx)
 * in the project's root, and returns what it printed, parsed as JSON: for tests of what loading a
 * module does.
 */
export async function inFreshNode(code: string): Promise<unknown> {
  const { stdout } = await execFileAsync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT });
  return JSON.parse(stdout) as unknown;
}
