/**
 * What SQS accepts in a message body or String attribute: #x9 #xA #xD and #x20 to #xD7FF, #xE000 to #xFFFD,
 * #x10000 to #x10FFFF (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
 * Everything else, lone surrogates included, is refused with InvalidMessageContents.
 */
const NOT_SQS_TEXT = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * JSON text that SQS accepts whatever the strings in `value` hold: a character SQS refuses is written as its
 * `\uXXXX` escape, which every JSON parser reads back as the same string. Such characters can only occur inside
 * JSON strings (JSON.stringify escapes control characters itself), so the text stays valid JSON.
 */
export function sqsSafeJson(value: unknown): string {
  const text = JSON.stringify(value);
  // JSON.stringify already escapes control characters and lone surrogates: only U+FFFE and U+FFFF are left,
  // and a quick look for them keeps the common case to one scan.
  if (!UNESCAPED_REFUSED.test(text)) return text;
  // Every character refused is in the BMP (all of #x10000 to #x10FFFF is accepted): one UTF-16 unit each.
  return text.replace(
    NOT_SQS_TEXT,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** What SQS refuses that JSON.stringify leaves as it is. */
const UNESCAPED_REFUSED = /[\uFFFE\uFFFF]/;

/** Free text for a String attribute: characters SQS refuses become U+FFFD. */
export function sqsSafeText(text: string): string {
  return text.replace(NOT_SQS_TEXT, '\uFFFD');
}
