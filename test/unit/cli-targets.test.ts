import { describe, expect, it } from 'vitest';
import {
  clientSettings,
  LOCAL_DEFAULT_ENDPOINT,
  resolveQueueUrl,
  resolveTableName,
  resolveTarget,
} from '../../cli/targets.ts';

const noLookup = async (name: string): Promise<string> => {
  throw new Error(`unexpected lookup of ${name}`);
};

describe('resolveTarget', () => {
  it('leaves AWS to the SDK chain: no endpoint, region or credentials of its own', () => {
    const target = resolveTarget({}, { AWS_ENDPOINT_URL_SQS: 'http://elsewhere:1' });

    expect(target).toEqual({
      mode: 'aws',
      region: undefined,
      endpoints: { sqs: undefined, dynamodb: undefined, opensearch: undefined },
      credentials: undefined,
    });
    expect(clientSettings(target, 'sqs')).toEqual({});
    expect(clientSettings(resolveTarget({ region: 'eu-west-1' }, {}), 'sqs')).toEqual({
      region: 'eu-west-1',
    });
  });

  it('uses the default local endpoint, us-east-1 and dummy credentials with --local', () => {
    const target = resolveTarget({ local: true }, {});

    expect(clientSettings(target, 'dynamodb')).toEqual({
      endpoint: LOCAL_DEFAULT_ENDPOINT,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });

  it('treats AWS_ENDPOINT_URL as the local stack and honours the per-service variables', () => {
    const target = resolveTarget(
      {},
      {
        AWS_ENDPOINT_URL: 'http://127.0.0.1:4000',
        AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:5000',
        AWS_REGION: 'eu-central-1',
        AWS_ACCESS_KEY_ID: 'AKIDLOCAL',
      },
    );

    expect(target.mode).toBe('local');
    expect(target.endpoints).toEqual({
      sqs: 'http://127.0.0.1:4000',
      dynamodb: 'http://127.0.0.1:5000',
      opensearch: 'http://127.0.0.1:4000',
    });
    expect(target.region).toBe('eu-central-1');
    // Configured credentials win; the SDK chain reads them.
    expect(target.credentials).toBeUndefined();
  });
});

describe('resolveQueueUrl', () => {
  const local = resolveTarget({}, { AWS_ENDPOINT_URL: 'http://127.0.0.1:4000/' });
  const aws = resolveTarget({}, {});

  it('prefers the URL flag, then the name flag, then the environment, then the local name', async () => {
    const lookup = async (name: string) => `https://sqs.example/123/${name}`;

    expect(await resolveQueueUrl(local, 'requests', { url: 'https://q/1', name: 'n' }, {}, noLookup)).toBe(
      'https://q/1',
    );
    expect(await resolveQueueUrl(local, 'requests', { name: 'mine' }, {}, lookup)).toBe(
      'https://sqs.example/123/mine',
    );
    expect(
      await resolveQueueUrl(
        local,
        'events',
        {},
        { ASSOCIATOR_EVENTS_QUEUE_URL: 'https://q/events' },
        noLookup,
      ),
    ).toBe('https://q/events');
    expect(await resolveQueueUrl(local, 'trackingDlq', {}, {}, noLookup)).toBe(
      'http://127.0.0.1:4000/000000000000/package-associator-tracking-dlq',
    );
  });

  it('tells the user what to pass when AWS has no queue configured', async () => {
    await expect(resolveQueueUrl(aws, 'requestsDlq', {}, {}, noLookup)).rejects.toMatchObject({
      name: 'UsageError',
      message:
        'no requests dead-letter queue given: pass --dlq-url or --dlq-name, set ASSOCIATOR_DLQ_URL, or use --local',
    });
  });
});

describe('resolveTableName', () => {
  it('takes the flag, then ASSOCIATOR_TABLE, then the local table, and refuses to guess on AWS', () => {
    const local = resolveTarget({ local: true }, {});
    const aws = resolveTarget({}, {});

    expect(resolveTableName(aws, 'flag-table', { ASSOCIATOR_TABLE: 'env-table' })).toBe('flag-table');
    expect(resolveTableName(aws, undefined, { ASSOCIATOR_TABLE: 'env-table' })).toBe('env-table');
    expect(resolveTableName(local, undefined, {})).toBe('package-associator-ledger');
    expect(() => resolveTableName(aws, undefined, {})).toThrow(/pass --table, set ASSOCIATOR_TABLE/);
  });
});
