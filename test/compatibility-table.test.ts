// The compatibility page is made from a test run: the script's reading of vitest's JSON report.
import { describe, expect, it } from 'vitest';
import { renderCompatibility, type VitestReport } from '../scripts/compatibility.ts';

const report: VitestReport = {
  testResults: [
    {
      name: '/repo/test/clients.test.ts',
      assertionResults: [
        { ancestorTitles: ['client: Some Client'], title: '[text] [usage] replies', status: 'passed' },
        { ancestorTitles: ['client: Some Client'], title: '[tools] calls tools', status: 'failed' },
        { ancestorTitles: ['client: Some Client'], title: '[n] not exposed: one choice only', status: 'skipped' },
        { ancestorTitles: ['client: Some Client'], title: 'an untagged test', status: 'passed' },
        { ancestorTitles: ['not a client'], title: '[text] ignored', status: 'failed' },
      ],
    },
    {
      name: '/repo/test/sdk-majors.test.ts',
      assertionResults: [
        { ancestorTitles: ['client: openai SDK v4'], title: '[text] create', status: 'passed' },
        { ancestorTitles: ['client: openai SDK v4'], title: '[brand-new] something', status: 'passed' },
      ],
    },
  ],
};

describe('compatibility table', () => {
  const page = renderCompatibility(report, { openai: '7.0.0' }, [{ name: 'A Future Client', note: 'drives an endpoint the gateway does not serve yet.' }]);
  const table = page.split('\n').filter((line) => line.startsWith('|'));

  it('has a column per feature tag (known ones first, in their order) and a row per client, the official SDK first', () => {
    expect(table[0]).toBe('| client | reply | usage details | tool calls | several choices (`n`) | brand-new |');
    expect(table[2]).toBe('| openai SDK v4 | ✅ |  |  |  | ✅ |');
    expect(table[3]).toBe('| Some Client | ✅ | ✅ | ❌ fails | — [1] |  |');
  });

  it('notes why a feature is not exposed, and keeps a row for a client still to come', () => {
    expect(page).toContain('[1] Some Client, n: one choice only');
    expect(table[4]).toMatch(/^\| A Future Client: pending \[2\] \|/);
    expect(page).toMatch(/\[2\] A Future Client: drives an endpoint/);
  });

  it('counts results, names versions, and lists what each test checks', () => {
    expect(page).toContain('3 tests passed, 1 failed.');
    expect(page).toContain('`openai` 7.0.0');
    expect(page).toContain('- ❌ [tools] calls tools');
    expect(page).not.toContain('ignored');
    expect(page).not.toContain('untagged');
  });
});
