// The build's second step: tsc compiles src/ to dist/ but copies nothing else, and the Lua
// scripts (src/store/lua/**/*.lua) are read at run time beside the compiled loader
// (src/store/lua-script.ts). Copies every .lua file under src/ to the same place under dist/.
import { cpSync, existsSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const from = join(root, 'src');
const to = join(root, 'dist');

function copyLua(dir) {
  for (const entry of readdirSync(join(from, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) copyLua(path);
    else if (entry.name.endsWith('.lua')) cpSync(join(from, path), join(to, path));
  }
}

if (!existsSync(to)) throw new Error('dist/ is missing: run tsc -p tsconfig.build.json first');
copyLua('.');
