/**
 * Builds a function that removes secrets (the API key and the values of injected headers) from
 * any text before it goes into an error message or a log line.
 */
export function makeRedactor(secrets: Array<string | undefined>): (text: string) => string {
  const list = [...new Set(secrets.filter((s): s is string => typeof s === 'string' && s.length >= 4))].sort(
    (a, b) => b.length - a.length,
  );
  return (text: string) => {
    let out = text;
    for (const s of list) out = out.split(s).join('***');
    return out;
  };
}

/** The endpoint as shown to users: host and path, never credentials or query. */
export function endpointLabel(baseUrl: string): string {
  try {
    const u = new URL(baseUrl);
    return `${u.host}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    return '(invalid base URL)';
  }
}
