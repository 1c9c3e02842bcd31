import { describe, expect, it } from 'vitest';
import { stageResources } from '../../cli/stage.ts';
import {
  clientSettings,
  endpointNotice,
  LOCAL_DEFAULT_ENDPOINT,
  resolveQueueUrl,
  resolveTableName,
  resolveTarget,
} from '../../cli/targets.ts';

const noLookup = async (name: string): Promise<string> => {
  throw new Error(`unexpected lookup of ${name}`);
};

describe('resolveTarget', () => {
  it('leaves AWS to the SDK chain: no endpoint, region or credentials of its own, and no notice', () => {
    const target = resolveTarget({}, {});

    expect(target).toEqual({
      mode: 'aws',
      region: undefined,
      endpoints: { sqs: undefined, dynamodb: undefined, opensearch: undefined, eventbridge: undefined },
      credentials: undefined,
      stage: undefined,
    });
    expect(clientSettings(target, 'sqs')).toEqual({});
    expect(endpointNotice(target)).toBeUndefined();
    expect(clientSettings(resolveTarget({ region: 'eu-west-1' }, {}), 'sqs')).toEqual({
      region: 'eu-west-1',
    });
  });

  it('passes a per-service endpoint on AWS through, and says that service is not AWS', () => {
    const target = resolveTarget({}, { AWS_ENDPOINT_URL_SQS: 'http://elsewhere:1' });

    expect(target.mode).toBe('aws');
    expect(clientSettings(target, 'sqs')).toEqual({ endpoint: 'http://elsewhere:1' });
    expect(clientSettings(target, 'dynamodb')).toEqual({});
    expect(endpointNotice(target)).toBe(
      'associator: using endpoints sqs http://elsewhere:1 (not AWS); the other services are AWS',
    );
  });

  it('ignores the endpoint variables, as the SDK does, with AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true', () => {
    const target = resolveTarget(
      {},
      { AWS_ENDPOINT_URL: 'http://127.0.0.1:4000', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' },
    );

    expect(target.mode).toBe('aws');
    expect(endpointNotice(target)).toBeUndefined();
  });

  it('sends everything to --endpoint, over AWS_ENDPOINT_URL, and says it is not AWS', () => {
    const target = resolveTarget(
      { endpoint: 'http://127.0.0.1:4567' },
      { AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' },
    );

    expect(target.mode).toBe('local');
    expect(clientSettings(target, 'eventbridge')).toMatchObject({ endpoint: 'http://127.0.0.1:4567' });
    expect(endpointNotice(target)).toBe('associator: using endpoint http://127.0.0.1:4567 (not AWS)');
  });

  it('refuses an --endpoint that is not an http(s) URL, naming the flag', () => {
    expect(() => resolveTarget({ endpoint: 'localhost:4566' }, {})).toThrow(
      '--endpoint: must be an http:// or https:// URL, got "localhost:4566"',
    );
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
      eventbridge: 'http://127.0.0.1:4000',
    });
    expect(endpointNotice(target)).toBe(
      'associator: using endpoints sqs http://127.0.0.1:4000, dynamodb http://127.0.0.1:5000, opensearch http://127.0.0.1:4000, eventbridge http://127.0.0.1:4000 (not AWS)',
    );
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
        'no requests dead-letter queue given: pass --stage, --dlq-url or --dlq-name, set ASSOCIATOR_DLQ_URL, or use --local',
    });
  });

  it("looks up the --stage's queue by the name serverless.yml gives it, over the environment", async () => {
    const prod = resolveTarget({ region: 'eu-west-1' }, {}, stageResources('prod'));
    const lookup = async (name: string) => `https://sqs.eu-west-1.amazonaws.com/123456789012/${name}`;

    expect(
      await resolveQueueUrl(prod, 'requestsDlq', {}, { ASSOCIATOR_DLQ_URL: 'https://q/env' }, lookup),
    ).toBe(
      'https://sqs.eu-west-1.amazonaws.com/123456789012/opensearch-package-associator-prod-requests-dlq',
    );
    // The stack has no events queue: nothing to look up, so the command subscribes instead.
    await expect(resolveQueueUrl(prod, 'events', {}, {}, noLookup)).rejects.toMatchObject({
      name: 'UsageError',
    });
  });
});

describe('stageResources', () => {
  it('names what `osls deploy --stage` creates, from serverless.yml', () => {
    expect(stageResources('prod')).toEqual({
      stage: 'prod',
      queues: {
        requests: 'opensearch-package-associator-prod-requests',
        requestsDlq: 'opensearch-package-associator-prod-requests-dlq',
        tracking: 'opensearch-package-associator-prod-tracking',
        trackingDlq: 'opensearch-package-associator-prod-tracking-dlq',
      },
      table: 'opensearch-package-associator-prod-ledger',
      bus: 'opensearch-package-associator-prod',
      eventSource: 'package-associator',
    });
  });

  it('refuses a stage name the framework would refuse, naming the flag', () => {
    expect(() => stageResources('prod/eu')).toThrow(
      '--stage: must contain only letters, digits and hyphens, got "prod/eu"',
    );
  });
});

describe('resolveTableName', () => {
  it('takes the flag, then ASSOCIATOR_TABLE, then the local table, and refuses to guess on AWS', () => {
    const local = resolveTarget({ local: true }, {});
    const aws = resolveTarget({}, {});

    expect(resolveTableName(aws, 'flag-table', { ASSOCIATOR_TABLE: 'env-table' })).toBe('flag-table');
    expect(resolveTableName(aws, undefined, { ASSOCIATOR_TABLE: 'env-table' })).toBe('env-table');
    expect(resolveTableName(local, undefined, {})).toBe('package-associator-ledger');
    expect(() => resolveTableName(aws, undefined, {})).toThrow(
      /pass --stage or --table, set ASSOCIATOR_TABLE/,
    );
    const dev = resolveTarget({}, {}, stageResources('dev'));
    expect(resolveTableName(dev, undefined, { ASSOCIATOR_TABLE: 'env-table' })).toBe(
      'opensearch-package-associator-dev-ledger',
    );
  });
});
