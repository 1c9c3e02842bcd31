/** The benchmark's results: one summary table for the console and docs/PERFORMANCE.md. */

export type Verdict = 'pass' | 'fail' | 'info';

export interface Row {
  measure: string;
  ours: string;
  baseline: string;
  target: string;
  verdict: Verdict;
}

export interface SectionResult {
  title: string;
  rows: Row[];
  /** Markdown for the document: how it was measured, what bounds it, what would move it. */
  details: string;
}

export function row(
  measure: string,
  ours: string,
  baseline = '',
  target = '',
  verdict: Verdict = 'info',
): Row {
  return { measure, ours, baseline, target, verdict };
}

export function verdictOf(met: boolean): Verdict {
  return met ? 'pass' : 'fail';
}

const MARK: Record<Verdict, string> = { pass: '✅', fail: '❌', info: '' };
const HEADERS = ['Measure', 'Ours', 'Baseline', 'Target', ''] as const;

function cells(entry: Row): string[] {
  return [entry.measure, entry.ours, entry.baseline, entry.target, MARK[entry.verdict]];
}

/** Fixed-width text for a terminal; emoji count as two columns. */
export function renderConsoleTable(sections: SectionResult[]): string {
  const width = (text: string) =>
    [...text].reduce((total, char) => total + (/\p{Extended_Pictographic}/u.test(char) ? 2 : 1), 0);
  const indented = (entry: Row) => cells(entry).map((value, column) => (column === 0 ? `  ${value}` : value));
  const allRows = sections.flatMap((section) => section.rows.map(indented));
  const widths = HEADERS.map((header, column) =>
    Math.max(width(header), ...allRows.map((cellsOfRow) => width(cellsOfRow[column] ?? ''))),
  );
  const line = (values: readonly string[]) =>
    values
      .map((value, column) => value + ' '.repeat((widths[column] ?? 0) - width(value)))
      .join('  ')
      .trimEnd();
  const rule = widths.map((columnWidth) => '─'.repeat(columnWidth)).join('  ');
  const out = [line(HEADERS), rule];
  for (const section of sections) {
    out.push(section.title);
    for (const entry of section.rows) out.push(line(indented(entry)));
  }
  return out.join('\n');
}

function escapeCell(text: string): string {
  return text.replaceAll('|', '\\|');
}

export function renderMarkdownTable(sections: SectionResult[]): string {
  const out = [`| ${HEADERS.join(' | ')} |`, `|${HEADERS.map(() => '---').join('|')}|`];
  for (const section of sections) {
    out.push(`| **${escapeCell(section.title)}** | | | | |`);
    for (const entry of section.rows) out.push(`| ${cells(entry).map(escapeCell).join(' | ')} |`);
  }
  return out.join('\n');
}

export function missedTargets(sections: SectionResult[]): Row[] {
  return sections.flatMap((section) => section.rows.filter((entry) => entry.verdict === 'fail'));
}
