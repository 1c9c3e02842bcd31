import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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

  it('lists --rate-limit and refuses a rate that is not a positive number of calls per second', () => {
    expect(start('--help').stdout).toContain('--rate-limit');
    for (const value of ['0', '-1', 'fast', '1e3']) {
      // The = form: parseArgs would read a separate "-1" as an option of its own.
      const result = start(`--rate-limit=${value}`, '--port', '0');
      expect(result.status).toBe(2);
      expect(result.stderr).toContain(
        `--rate-limit must be a number of calls per second above 0 and at most 10000, got "${value}"`,
      );
    }
  });

  it.each(['0', '0x5', '1.5', 'soon'])('refuses --window-seconds %j, naming the flag', (value) => {
    const result = start('--window-seconds', value, '--port', '0');
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(`--window-seconds must be a whole number of seconds, got "${value}"`);
  });
});

describe('npm start on a port already taken', () => {
  let holder: Server;
  let port: number;

  beforeAll(async () => {
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const address = holder.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    port = address.port;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => holder.close(() => resolve()));
  });

  it('says so in one line, without a stack trace, and exits 1', () => {
    const result = start('--port', String(port), '--quiet');
    expect(result.status).toBe(1);
    expect(result.stderr.trim()).toBe(
      `npm start: port ${port} is already in use (another npm start?); stop it or pick another with --port`,
    );
    expect(result.stdout).not.toContain('ready');
  });
});
