/** DynamoDB refuses an item over 400 KB. */
export const DYNAMODB_ITEM_LIMIT = 400 * 1024;

/**
 * An item's size as DynamoDB counts it against that limit and its capacity units: attribute names and values
 * in UTF-8, a number by its digits, 3 bytes per list or map and 1 per element.
 */
export function itemSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(value).replace(/[-.]/g, '').length / 2) + 1;
  if (typeof value === 'boolean' || value === null) return 1;
  if (Array.isArray(value)) return 3 + value.reduce((total: number, entry) => total + 1 + itemSize(entry), 0);
  if (typeof value === 'object') {
    return (
      3 +
      Object.entries(value)
        .filter(([, entry]) => entry !== undefined)
        .reduce((total, [name, entry]) => total + Buffer.byteLength(name) + 1 + itemSize(entry), 0)
    );
  }
  return 0;
}
