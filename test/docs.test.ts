// The docs in the repository stay true to the code: the configuration reference is generated from
// the config schema and must match it.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configKeys, renderConfigReference } from '../scripts/config-reference.ts';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');

describe('docs/configuration.md', () => {
  it('is what the config schema generates (run "npm run generate" after changing src/config/schema.ts)', () => {
    expect(read('docs/configuration.md')).toBe(renderConfigReference());
  });

  it('every key in the schema has a description', () => {
    expect(configKeys().filter((key) => !key.description).map((key) => key.key)).toEqual([]);
  });

  it('lists keys of maps and lists, with types and defaults as validation applies them', () => {
    const keys = new Map(configKeys().map((key) => [key.key, key]));
    expect(keys.get('gateway.port')).toMatchObject({ type: 'integer 0–65535', default: '`18789`' });
    expect(keys.get('models.providers.<name>.api')).toMatchObject({ default: 'required' });
    expect(keys.get('agents.list[].id')?.type).toContain('[a-z0-9]');
    expect(keys.get('sessions.retention')).toMatchObject({ default: '—' });
    // A key the schema gains shows up in the reference.
    const extra = configKeys({ type: 'object', properties: { sessions: { type: 'object', properties: { newKey: { type: 'boolean', default: true, description: 'New.' } } } } });
    expect(extra).toEqual([{ key: 'sessions.newKey', type: 'boolean', default: '`true`', description: 'New.' }]);
  });
});
