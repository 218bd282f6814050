import { readFileSync } from 'node:fs';
import path from 'node:path';

/** The installed version of an npm package (read from its package.json: not every package exports that file). */
export function packageVersion(name: string): string {
  const file = path.resolve(import.meta.dirname, '../../node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
