import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_NAMES, type LocalStack, startLocalStack } from '../../local/stack.ts';
import { FAST_HANDLER_ENVIRONMENT } from '../helpers/local-stack.ts';

const execFileAsync = promisify(execFile);

const README = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
const MARKER = '<!-- readme-test -->';
/** The one line the test changes: the README's stack listens on 4566, the test's on a free port. */
const PORT_LINE = /^PORT=4566$/m;

/**
 * The Quick start section's commands as the README source's comment defines them: each ```sh block directly
 * after a readme-test marker, in order. `npm start` is in an unmarked block: this test starts its own stack.
 */
function quickStartCommands(readme: string): string[] {
  const section = /^## Quick start.*$([\s\S]*?)(?=^## )/m.exec(readme)?.[1];
  if (section === undefined) throw new Error('README.md: no "## Quick start" section');
  const blocks = [...section.matchAll(/^<!-- readme-test -->\n```sh\n([\s\S]*?)^```$/gm)];
  return blocks.map((block) => block[1] ?? '');
}

interface PrintedEvent {
  'detail-type': string;
  detail: { idempotencyKey?: string };
}

describe('README quick start', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startLocalStack({
      port: 0,
      associationDelayMs: 200,
      handlerEnvironment: FAST_HANDLER_ENVIRONMENT,
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('finds a sh block after every marker, all in the Quick start, naming the port once', () => {
    const blocks = quickStartCommands(README);
    expect(blocks).toHaveLength(2);
    expect(README.split(MARKER).length - 1).toBe(blocks.length);
    expect(blocks.join('').match(new RegExp(PORT_LINE, 'gm'))).toHaveLength(1);
  });

  it('sends a request and prints its Started and Succeeded events, deleting what it read', async () => {
    const port = new URL(stack.endpoint).port;
    const script = quickStartCommands(README).join('\n').replace(PORT_LINE, `PORT=${port}`);
    const { stdout } = await execFileAsync('bash', ['-e', '-o', 'pipefail', '-c', script], {
      timeout: 60_000,
      env: {
        ...process.env,
        // The user's own AWS settings (a profile's endpoint, a pager) must not change what the README shows.
        AWS_CONFIG_FILE: '/dev/null',
        AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
        AWS_EC2_METADATA_DISABLED: 'true',
      },
    });

    const { MessageId } = JSON.parse(stdout.slice(0, stdout.indexOf('}') + 1)) as { MessageId: string };
    const events = stdout
      .split('\n')
      .filter((line) => line.startsWith('{"version"'))
      .map((line) => JSON.parse(line) as PrintedEvent)
      .filter((event) => event.detail.idempotencyKey === MessageId);
    expect(events.map((event) => event['detail-type'])).toEqual([
      'PackageAssociationStarted',
      'PackageAssociationSucceeded',
    ]);
    const left = stack.sqs.inspectQueue(LOCAL_NAMES.eventsQueue)?.messages;
    expect([left?.ready.length, left?.inflight.length, left?.delayed.length]).toEqual([0, 0, 0]);
  }, 70_000);
});
