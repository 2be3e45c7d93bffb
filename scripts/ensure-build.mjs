// `npm start` runs the built service; build first when dist/ is missing or older than src/
// (as `npm run build` does: compile, then copy the Lua scripts beside the compiled code).
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const built = 'dist/main.js';
if (!existsSync(built) || statSync(built).mtimeMs < newest('src')) {
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
  execFileSync('node', ['scripts/copy-lua.mjs'], { stdio: 'inherit' });
}
