/**
 * wordsByValue turns a table of Dify's wire words (word -> enum value, as the plugin's JSON is read) into the
 * reverse table (enum value -> word, as requests and Dify's chunks are written), so each table is written once.
 */
export function wordsByValue<T extends number>(values: Readonly<Record<string, T>>): Readonly<Record<number, string>> {
  return Object.fromEntries(Object.entries(values).map(([word, value]) => [value, word]));
}
