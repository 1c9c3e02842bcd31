import { EventBridgeApiError } from './errors.ts';

/** A member's constraints, as the AWS API model states them. */
export interface StringRules {
  required?: boolean;
  min?: number;
  max?: number;
  /** The model's regular expression, matched against the whole value. */
  pattern?: string;
  enum?: readonly string[];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function serializationError(message: string): EventBridgeApiError {
  return new EventBridgeApiError('SerializationException', message);
}

export function validationError(message: string): EventBridgeApiError {
  return new EventBridgeApiError('ValidationException', message);
}

export function requestBody(body: unknown): Record<string, unknown> {
  if (!isRecord(body)) throw serializationError('The request body must be a JSON object');
  return body;
}

/**
 * Collects constraint violations and reports them all at once, as AWS does:
 * `2 validation errors detected: Value 'a b' at 'name' failed to satisfy constraint: Member must ...; ...`.
 * A value of the wrong JSON type is a SerializationException instead, thrown at once.
 */
export class Violations {
  private readonly messages: string[] = [];

  private add(value: unknown, at: string, constraint: string): void {
    const shown = value === undefined ? 'null' : `'${String(value)}'`;
    this.messages.push(`Value ${shown} at '${at}' failed to satisfy constraint: Member must ${constraint}`);
  }

  /** Reads `record[field]` as an optional string; `at` is the member's path in AWS's messages. */
  string(
    record: Record<string, unknown>,
    field: string,
    at: string,
    rules: StringRules = {},
  ): string | undefined {
    const value = record[field];
    if (value === undefined || value === null) {
      if (rules.required === true) this.add(undefined, at, 'not be null');
      return undefined;
    }
    if (typeof value !== 'string') throw serializationError(`${field} must be a string`);
    if (rules.min !== undefined && value.length < rules.min) {
      this.add(value, at, `have length greater than or equal to ${rules.min}`);
    }
    if (rules.max !== undefined && value.length > rules.max) {
      this.add(value, at, `have length less than or equal to ${rules.max}`);
    }
    if (rules.pattern !== undefined && !new RegExp(`^(?:${rules.pattern})$`).test(value)) {
      this.add(value, at, `satisfy regular expression pattern: ${rules.pattern}`);
    }
    if (rules.enum !== undefined && !rules.enum.includes(value)) {
      this.add(value, at, `satisfy enum value set: [${rules.enum.join(', ')}]`);
    }
    return value;
  }

  integer(
    record: Record<string, unknown>,
    field: string,
    at: string,
    min: number,
    max: number,
  ): number | undefined {
    const value = record[field];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value))
      throw serializationError(`${field} must be an integer`);
    if (value < min) this.add(value, at, `have value greater than or equal to ${min}`);
    if (value > max) this.add(value, at, `have value less than or equal to ${max}`);
    return value;
  }

  /** Reads a list member; a length message shows it as `[<element>]`, as AWS shows '[Target]'. */
  list(
    record: Record<string, unknown>,
    field: string,
    at: string,
    bounds: { min: number; max: number; element: string },
  ): unknown[] {
    const value = record[field];
    if (value === undefined || value === null) {
      this.add(undefined, at, 'not be null');
      return [];
    }
    if (!Array.isArray(value)) throw serializationError(`${field} must be a list`);
    if (value.length < bounds.min) this.add('[]', at, `have length greater than or equal to ${bounds.min}`);
    if (value.length > bounds.max)
      this.add(`[${bounds.element}]`, at, `have length less than or equal to ${bounds.max}`);
    return value;
  }

  throwIfAny(): void {
    const count = this.messages.length;
    if (count === 0) return;
    throw validationError(
      `${count} validation error${count === 1 ? '' : 's'} detected: ${this.messages.join('; ')}`,
    );
  }
}

// Member constraints from the EventBridge API model (events 2015-10-07).
export const RULE_NAME: StringRules = { min: 1, max: 64, pattern: '[\\.\\-_A-Za-z0-9]+' };
export const EVENT_BUS_NAME_OR_ARN: StringRules = {
  min: 1,
  max: 1600,
  pattern: '(arn:aws[\\w-]*:events:[a-z]+-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?[/\\.\\-_A-Za-z0-9]+',
};
export const NEXT_TOKEN: StringRules = { min: 1, max: 2048 };
export const TARGET_ID: StringRules = { required: true, min: 1, max: 64, pattern: '[\\.\\-_A-Za-z0-9]+' };
