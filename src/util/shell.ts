/**
 * Quote a value as one POSIX shell word. Single quotes make everything literal; a single quote
 * inside is closed, escaped and reopened: `it's` → `'it'\''s'`. Safe for any byte string.
 */
export function shellQuote(value: string): string {
  if (value !== "" && /^[A-Za-z0-9_@%+=:,./-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
