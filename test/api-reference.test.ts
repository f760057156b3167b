// The API reference: the spec carries request and response examples for every operation and
// passes Redocly's lint without a warning, and /docs renders it in a real headless Chromium with
// nothing loaded from anywhere but the gateway itself.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

type Media = { example?: unknown; examples?: Record<string, unknown> };
type Doc = { paths: Record<string, Record<string, any>>; components: Record<string, Record<string, any>> };

const spec = YAML.parse(readFileSync(join(ROOT, 'openapi/openapi.yaml'), 'utf8')) as Doc;
const resolve = (node: any) => (node?.$ref ? node.$ref.split('/').slice(1).reduce((at: any, key: string) => at[key], spec) : node);
const hasExample = (media: Media) => media.example !== undefined || Object.keys(media.examples ?? {}).length > 0;

describe('openapi/openapi.yaml', () => {
  it('has request and response examples for every operation', () => {
    const missing: string[] = [];
    let operations = 0;
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        operations++;
        const where = `${method.toUpperCase()} ${path}`;
        for (const parameter of (operation.parameters ?? []).map(resolve)) {
          if (parameter.example === undefined && !parameter.examples) missing.push(`${where} parameter ${parameter.name}`);
        }
        for (const [type, media] of Object.entries<Media>(resolve(operation.requestBody)?.content ?? {})) {
          if (!hasExample(media)) missing.push(`${where} request ${type}`);
        }
        for (const [status, response] of Object.entries(operation.responses)) {
          for (const [type, media] of Object.entries<Media>(resolve(response).content ?? {})) {
            if (!hasExample(media)) missing.push(`${where} ${status} ${type}`);
          }
        }
      }
    }
    expect(operations).toBeGreaterThanOrEqual(10);
    expect(missing).toEqual([]);
  });

  it('passes `redocly lint` (npm run lint:api) with no error and no warning; examples are checked against their schemas', () => {
    const result = spawnSync(process.execPath, [join(ROOT, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', 'openapi/openapi.yaml', '--format=json'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    });
    const report = JSON.parse(result.stdout) as { totals: { errors: number; warnings: number; ignored: number }; problems: Array<{ ruleId: string; message: string }> };
    expect(report.problems.map((p) => `${p.ruleId}: ${p.message}`)).toEqual([]);
    expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
    expect(result.status).toBe(0);
  });
});

describe('GET /docs', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.close();
  });

  it('serves the page with a same-origin-only CSP and the bundled assets from npm, nothing else of the package', async () => {
    const page = await fetch(`${gw.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).not.toMatch(/https?:\/\//);
    const bundle = await fetch(`${gw.url}/docs/assets/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect(Buffer.from(await bundle.arrayBuffer()).equals(readFileSync(join(ROOT, 'node_modules/swagger-ui-dist/swagger-ui-bundle.js')))).toBe(true);
    expect((await fetch(`${gw.url}/docs/assets/swagger-ui.css`)).headers.get('content-type')).toMatch(/^text\/css/);
    for (const other of ['package.json', 'index.html', '..%2F..%2Fpackage.json']) expect((await fetch(`${gw.url}/docs/assets/${other}`)).status).toBe(404);
    const slash = await fetch(`${gw.url}/docs/`, { redirect: 'manual' });
    expect(slash.status).toBe(301);
    expect(new URL(slash.headers.get('location')!, `${gw.url}/docs/`).pathname).toBe('/docs');
  });

  // A browser start on a busy machine takes a while; the limit is for a hung browser, not a speed check.
  it('renders the spec with its examples in headless Chromium, offline: no request leaves the gateway, no console error', { timeout: 180_000 }, async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with "apt-get install chromium" (.ci/run does)`);
    const profile = mkdtempSync(join(tmpdir(), 'openclaw-chromium-'));
    const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    try {
      const page = browser.pages()[0] ?? (await browser.newPage());
      const elsewhere: string[] = [];
      const problems: string[] = [];
      await page.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith(`${gw.url}/`)) return route.continue();
        elsewhere.push(url);
        return route.abort();
      });
      page.on('console', (message) => message.type() === 'error' && problems.push(message.text()));
      page.on('pageerror', (error) => problems.push(error.message));

      await page.goto(`${gw.url}/docs`);
      await page.getByText('OpenClaw Gateway HTTP API').first().waitFor();
      const operation = page.locator('.opblock-summary-path', { hasText: '/v1/chat/completions' });
      await operation.waitFor();
      await operation.click();
      // The request example and a response example, as the spec gives them.
      await page.locator('.opblock-body').getByText('What is the capital of France?').first().waitFor();
      await page.locator('.opblock-body').getByText('The capital of France is Paris.').first().waitFor();
      await page.locator('.opblock-summary-path', { hasText: '/ready' }).click();
      await page.locator('.opblock-body').getByText('shutting_down').first().waitFor();
      const tags = await page.locator('.opblock-tag').allTextContents();
      for (const tag of ['Chat', 'Models', 'Health', 'WebSocket', 'Documentation']) expect(tags.some((text) => text.startsWith(tag))).toBe(true);

      expect(elsewhere).toEqual([]);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
