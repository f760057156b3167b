// The docs in the repository stay true to the code: the configuration reference is generated from
// the config schema and must match it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
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

describe('docs/websocket.md', () => {
  const doc = read('docs/websocket.md');
  const schema = JSON.parse(read('openapi/ws-frames.schema.json'));

  it('documents every method and event of the frame schema', () => {
    for (const method of schema.$defs.request.properties.method.enum as string[]) expect(doc).toContain(`### \`${method}\``);
    for (const event of schema.$defs.event.properties.event.enum as string[]) expect(doc).toContain(`\`${event}\``);
  });

  it('every example frame is valid against the frame schema, in the direction it is shown', () => {
    const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    const ajv = new Ajv2020({ strict: false });
    ajv.addSchema(schema);
    const request = ajv.getSchema(`${schema.$id}#/$defs/request`)!;
    const fromGateway = ajv.compile({ oneOf: [{ $ref: `${schema.$id}#/$defs/response` }, { $ref: `${schema.$id}#/$defs/event` }] });
    // A block marked `json refused` shows a request the gateway refuses: it must not validate.
    const blocks = [...doc.matchAll(/```json( refused)?\n([\s\S]*?)```/g)];
    const frames = blocks.flatMap((block) => block[2].split('\n').filter((line) => /^[<>] /.test(line)).map((line) => ({ line, refused: block[1] !== undefined })));
    expect(frames.length).toBeGreaterThan(10);
    expect(frames.filter((frame) => frame.refused && frame.line.startsWith('>'))).toHaveLength(1);
    for (const { line, refused } of frames) {
      const frame = JSON.parse(line.slice(2));
      const validate = line.startsWith('>') ? request : fromGateway;
      const expected = !(refused && line.startsWith('>'));
      expect(validate(frame), `${line}\n${JSON.stringify(validate.errors)}`).toBe(expected);
    }
  });
});

describe('links', () => {
  it('every relative link in README.md and docs/ points at a file of the repository', () => {
    const root = new URL('..', import.meta.url).pathname;
    const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
    const broken: string[] = [];
    for (const page of pages) {
      for (const [, target] of read(page).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^(https?:|mailto:|#)/.test(target)) continue;
        const path = join(root, dirname(page), target.split('#')[0]);
        if (!path.startsWith(root) || !existsSync(path)) broken.push(`${page}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
