// Fails when generated/ is not exactly what openapi/ generates: generated code is never edited by hand.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@hey-api/openapi-ts';
import config from '../openapi-ts.config.ts';
import { generateExtras } from './generate-extras.ts';

const committedDir = 'generated';
const freshDir = mkdtempSync(join(tmpdir(), 'openclaw-generated-'));
try {
  await createClient({ ...config, output: { ...config.output, path: freshDir }, logs: { level: 'silent' } });
  generateExtras(freshDir);
  const names = new Set([...readdirSync(committedDir), ...readdirSync(freshDir)]);
  const stale = [...names].filter((name) => {
    try {
      return readFileSync(join(committedDir, name), 'utf8') !== readFileSync(join(freshDir, name), 'utf8');
    } catch {
      return true;
    }
  });
  if (stale.length > 0) {
    console.error(`generated/ is out of date with openapi/ or src/config/schema.ts (${stale.join(', ')}): run "npm run generate" and commit.`);
    process.exit(1);
  }
  console.log('generated/ matches openapi/openapi.yaml and src/config/schema.ts');
} finally {
  rmSync(freshDir, { recursive: true, force: true });
}
