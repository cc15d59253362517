/**
 * Transpiles the bot (src/, commands/, runbooks/) and bench/bot-child.ts to plain ES modules in a
 * temporary folder, file by file (the project is isolatedModules + verbatimModuleSyntax, so each
 * file transpiles on its own; the type check is `npm run typecheck`'s job). The folder gets a
 * package.json with "type": "module" and a symlink to this project's node_modules, so the output
 * resolves the same dependencies. Nothing is written inside the project.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Returns the output folder; `entry` (relative to root, .ts) is at the same relative path as .js. */
export function compileBot(root: string, extra: readonly string[]): string {
  const out = mkdtempSync(join(tmpdir(), 'opsbot-bench-js-'));
  const files = [...['src', 'commands', 'runbooks'].flatMap((d) => tsFiles(join(root, d))), ...extra.map((f) => join(root, f))];
  for (const file of files) {
    const result = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: {
        target: ts.ScriptTarget.ES2022,
        module: ts.ModuleKind.ESNext,
        verbatimModuleSyntax: true,
        esModuleInterop: true,
        sourceMap: false,
      },
    });
    const target = join(out, relative(root, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, result.outputText);
  }
  writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  symlinkSync(join(root, 'node_modules'), join(out, 'node_modules'), 'dir');
  return out;
}
