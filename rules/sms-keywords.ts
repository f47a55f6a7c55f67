/**
 * Reply keywords that stop marketing SMS. `TD` / `退订` are what Chinese carriers and the
 * MIIT rules expect a marketing SMS to offer ("退订回TD"); STOP and UNSUBSCRIBE are the usual
 * English ones.
 */
export const DEFAULT_STOP_KEYWORDS: readonly string[] = ['TD', '退订', 'T', 'STOP', 'UNSUBSCRIBE'];

/**
 * The keyword an inbound SMS consists of, or undefined. The whole message must be the keyword —
 * a longer text that merely contains "t" is a conversation, not an opt-out — but phones add
 * spaces, full-width letters (ＴＤ) and punctuation (退订。), so those are ignored.
 */
export function stopKeyword(
  text: string,
  keywords: readonly string[] = DEFAULT_STOP_KEYWORDS,
): string | undefined {
  const said = canonical(text);
  if (said === '') return undefined;
  return keywords.find((keyword) => canonical(keyword) === said);
}

function canonical(text: string): string {
  return text
    .normalize('NFKC')
    .replace(/^[\p{P}\p{S}\s]+|[\p{P}\p{S}\s]+$/gu, '')
    .toUpperCase();
}
