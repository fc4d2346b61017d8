/**
 * A name as a Firestore document id: escaped, since an id may not contain "/" (nor be "." or "..",
 * nor look like `__name__`). Distinct names stay distinct.
 */
export function documentId(id: string): string {
  const escaped = encodeURIComponent(id);
  // Firestore reserves ".", ".." and ids like __name__: escaping the first character keeps ids distinct.
  return /^(\.{1,2}|__.*__)$/.test(escaped)
    ? `%${escaped.charCodeAt(0).toString(16).toUpperCase()}${escaped.slice(1)}`
    : escaped;
}
