// `npm run compat`: docs/compatibility.md from a run of the client test suites, never by hand.
//
// The convention the tests follow: a describe titled `client: <name>` holds one client's tests; a
// test's title starts with one or more `[feature]` tags; a skipped tagged test says the client
// does not expose that feature, and its title says why. This script runs every test file that has
// such a describe with vitest's JSON reporter (or reads a report given with `--from <file>`), and
// writes the table: one row per client, one column per feature, each cell the result of the
// tests carrying that tag.
//
//   node scripts/compatibility.ts                     run the client suites, write the table
//   node scripts/compatibility.ts --from report.json  write the table from an existing report
//
// Exits non-zero when a test failed (after writing the table, which shows the failure).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Columns, in order; a tag not listed here still gets a column, after these. */
export const FEATURES: ReadonlyArray<readonly [tag: string, label: string]> = [
  ['text', 'reply'],
  ['stream', 'streaming'],
  ['usage', 'usage details'],
  ['reasoning', 'reasoning'],
  ['tools', 'tool calls'],
  ['logprobs', 'logprobs'],
  ['refusal', 'refusal'],
  ['n', 'several choices (`n`)'],
  ['extra-body', 'server-specific fields'],
  ['errors', 'errors'],
  ['models', 'model list'],
  ['continuation', 'conversation kept by the gateway (`previous_response_id`)'],
];

/** Clients the table names before the suite drives them: the row says what it waits for. */
export const PENDING_CLIENTS: ReadonlyArray<{ name: string; note: string }> = [];

/** Client packages whose installed versions the page states. */
const CLIENT_PACKAGES = ['openai', 'openai-v4', 'openai-v5', 'openai-v6', 'ai', '@ai-sdk/openai', '@langchain/openai', '@langchain/core', '@openai/agents'];

/** The parts of vitest's JSON report this reads. */
export interface VitestReport {
  testResults: Array<{ name: string; assertionResults: Array<{ ancestorTitles: string[]; title: string; status: string }> }>;
}

type Outcome = 'passed' | 'failed' | 'skipped';

interface ClientTest {
  title: string;
  tags: string[];
  outcome: Outcome;
}

const TAGS = /^(?:\s*\[([a-z0-9-]+)\])+/;

function tagsOf(title: string): { tags: string[]; rest: string } {
  const match = TAGS.exec(title);
  if (!match) return { tags: [], rest: title };
  return { tags: [...match[0].matchAll(/\[([a-z0-9-]+)\]/g)].map((m) => m[1]), rest: title.slice(match[0].length).trim() };
}

function outcomeOf(status: string): Outcome {
  if (status === 'passed') return 'passed';
  if (status === 'failed') return 'failed';
  return 'skipped';
}

/** The tests of each client, in the order the report lists them. */
export function clientTests(report: VitestReport): Map<string, ClientTest[]> {
  const clients = new Map<string, ClientTest[]>();
  // Files finish in any order: the official SDK's rows first, then file by file.
  const rank = (name: string) => (name.includes('sdk-majors') ? 0 : 1);
  const files = [...report.testResults].sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name));
  for (const file of files) {
    for (const test of file.assertionResults) {
      const describe = test.ancestorTitles.find((title) => title.startsWith('client: '));
      if (!describe) continue;
      const { tags, rest } = tagsOf(test.title);
      if (tags.length === 0) continue;
      const name = describe.slice('client: '.length).trim();
      let list = clients.get(name);
      if (!list) clients.set(name, (list = []));
      list.push({ title: rest, tags, outcome: outcomeOf(test.status) });
    }
  }
  return clients;
}

const escapeCell = (text: string) => text.replaceAll('|', '\\|');

/** The page, from a report and the installed client versions. */
export function renderCompatibility(report: VitestReport, versions: Record<string, string> = {}, pendingClients = PENDING_CLIENTS): string {
  const clients = clientTests(report);
  const seenTags = [...new Set([...clients.values()].flatMap((tests) => tests.flatMap((test) => test.tags)))];
  const columns = [...FEATURES.filter(([tag]) => seenTags.includes(tag)), ...seenTags.filter((tag) => !FEATURES.some(([known]) => known === tag)).map((tag) => [tag, tag] as const)];
  const notes: string[] = [];
  const rows: string[] = [];
  let failed = 0;
  let passed = 0;
  for (const [client, tests] of clients) {
    const cells = columns.map(([tag]) => {
      const mine = tests.filter((test) => test.tags.includes(tag));
      if (mine.length === 0) return '';
      if (mine.some((test) => test.outcome === 'failed')) return '❌ fails';
      if (mine.some((test) => test.outcome === 'passed')) return '✅';
      notes.push(`${client}, ${tag}: ${mine.map((test) => test.title.replace(/^not exposed:\s*/, '')).join('; ')}`);
      return `— [${notes.length}]`;
    });
    for (const test of tests) {
      if (test.outcome === 'failed') failed++;
      if (test.outcome === 'passed') passed++;
    }
    rows.push(`| ${escapeCell(client)} | ${cells.join(' | ')} |`);
  }
  for (const pending of pendingClients) {
    if ([...clients.keys()].some((name) => name.startsWith(pending.name))) continue;
    notes.push(`${pending.name}: ${pending.note}`);
    rows.push(`| ${escapeCell(pending.name)}: pending [${notes.length}] |${columns.map(() => ' |').join('')}`);
  }

  const lines = [
    '# Client compatibility',
    '',
    '<!-- Generated by `npm run compat` (scripts/compatibility.ts) from a run of the client test suites; do not edit by hand. -->',
    '',
    'Which features each client is driven through against a running gateway (with a scripted upstream behind',
    'it), and the result of that run. ✅: every test of the feature passed; ❌: one failed; — : the client',
    'does not expose the feature (the note says how); empty: not exercised. The tests are in',
    '`test/sdk-majors.test.ts`, `test/clients.test.ts` and `test/responses-agents.test.ts`; each is named after the features it exercises.',
    '',
    `| client | ${columns.map(([, label]) => label).join(' | ')} |`,
    `|---|${columns.map(() => ':---:|').join('')}`,
    ...rows,
    '',
    `${passed} tests passed, ${failed} failed.`,
  ];
  // Two trailing spaces: a line break in Markdown, one note per line.
  if (notes.length > 0) lines.push('', ...notes.map((note, index) => `[${index + 1}] ${note}  `));
  const installed = CLIENT_PACKAGES.filter((name) => versions[name]).map((name) => `\`${name}\` ${versions[name]}`);
  if (installed.length > 0) lines.push('', `Client versions: ${installed.join(', ')}.`);
  lines.push('', '## What each test checks', '');
  for (const [client, tests] of clients) {
    lines.push(`### ${client}`, '');
    for (const test of tests) lines.push(`- ${test.outcome === 'passed' ? '✅' : test.outcome === 'failed' ? '❌' : '—'} ${test.tags.map((tag) => `[${tag}]`).join(' ')} ${test.title}`);
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** Test files with a `client: …` describe. */
function clientTestFiles(root: string): string[] {
  return readdirSync(join(root, 'test'))
    .filter((name) => name.endsWith('.test.ts'))
    .filter((name) => /['"`]client: /.test(readFileSync(join(root, 'test', name), 'utf8')))
    .map((name) => `test/${name}`);
}

function installedVersions(root: string): Record<string, string> {
  const versions: Record<string, string> = {};
  for (const name of CLIENT_PACKAGES) {
    try {
      versions[name] = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      // Not installed: not named.
    }
  }
  return versions;
}

if (import.meta.main) {
  const root = join(import.meta.dirname, '..');
  const from = process.argv.indexOf('--from');
  let reportPath: string;
  let status = 0;
  let scratch: string | undefined;
  if (from !== -1) {
    reportPath = process.argv[from + 1];
  } else {
    scratch = mkdtempSync(join(tmpdir(), 'openclaw-compat-'));
    reportPath = join(scratch, 'report.json');
    const run = spawnSync(process.execPath, [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${reportPath}`, ...clientTestFiles(root)], {
      cwd: root,
      stdio: 'inherit',
    });
    status = run.status ?? 1;
  }
  const report = JSON.parse(readFileSync(reportPath, 'utf8')) as VitestReport;
  const out = join(root, 'docs/compatibility.md');
  writeFileSync(out, renderCompatibility(report, installedVersions(root)));
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  console.error(`wrote ${out}`);
  const failedTests = [...clientTests(report).values()].flat().filter((test) => test.outcome === 'failed').length;
  process.exit(status !== 0 || failedTests > 0 ? 1 : 0);
}
