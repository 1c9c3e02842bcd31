import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const start = (...args: string[]) =>
  spawnSync(process.execPath, ['local/start.ts', ...args], { encoding: 'utf8', timeout: 20_000 });

describe('npm start', () => {
  it('lists the flags that shorten the window, the retry budget and the deadline', () => {
    const result = start('--help');
    expect(result.status).toBe(0);
    for (const flag of ['--window-seconds', '--retry-budget-seconds', '--deadline-seconds']) {
      expect(result.stdout).toContain(flag);
    }
  });

  it("lists the flags that set the OpenSearch emulator's durations", () => {
    const result = start('--help');
    for (const flag of [
      '--association-delay-ms',
      '--plugin-association-delay-ms',
      '--package-copy-ms',
      '--package-validation-ms',
    ]) {
      expect(result.stdout).toContain(flag);
    }
  });

  it('refuses a duration that is not a whole number, naming the flag', () => {
    const result = start('--plugin-association-delay-ms', 'soon', '--port', '0');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--plugin-association-delay-ms must be a whole number, got "soon"');
  });

  it.each(['0', '0x5', '1.5', 'soon'])('refuses --window-seconds %j, naming the flag', (value) => {
    const result = start('--window-seconds', value, '--port', '0');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`--window-seconds must be a whole number of seconds, got "${value}"`);
  });
});
