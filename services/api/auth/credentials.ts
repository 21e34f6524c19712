/**
 * The API key a request carries: `Authorization: Bearer <key>`, or HTTP Basic with the key as the
 * password and any user name (`curl -u :KEY`; a key given as the user name with no password is
 * taken too). Null when the request carries none in either form.
 */
export function keyOfAuthorization(header: string | undefined): string | null {
  if (header === undefined) return null;
  const space = header.indexOf(' ');
  if (space < 0) return null;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return value === '' ? null : value;
  if (scheme !== 'basic') return null;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const password = decoded.slice(colon + 1);
  const user = decoded.slice(0, colon);
  return password !== '' ? password : user !== '' ? user : null;
}
