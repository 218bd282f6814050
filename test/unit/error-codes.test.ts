import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { ERROR_CODES } from '../../src/errors.ts';

// Every code a client can get is in the one ErrorCode union, and docs/api.md explains each.

const root = new URL('../../', import.meta.url).pathname;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'generated') return [];
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('error codes', () => {
  it("are the codes of docs/api.md's error table, no more and no fewer", () => {
    const api = readFileSync(join(root, 'docs/api.md'), 'utf8');
    const table = api.slice(api.indexOf('## Errors (`extensions.code`)'), api.indexOf('### HTTP status of a failed request'));
    const documented = new Set([...table.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((match) => match[1]));
    expect([...documented].sort()).toEqual([...ERROR_CODES].sort());
  });

  it('are written in src/ only where the ErrorCode type checks them', () => {
    // A code as a bare object literal (`code: 'X'`) escapes the type unless it says `satisfies ErrorCode`.
    const loose = sourceFiles(join(root, 'src')).flatMap((file) =>
      [...readFileSync(file, 'utf8').matchAll(/code: '([A-Z_]+)'(?! satisfies ErrorCode)/g)].map((match) => `${file.slice(root.length)}: ${match[1]}`),
    );
    expect(loose).toEqual([]);
  });
});
