// The only way Eddy hands a URL to the operating system: web links in the user's browser. Anything
// else (file:, smb:, javascript:, custom protocol handlers) can start programs, so it is refused.
import { shell } from 'electron';

const MAX_URL_LENGTH = 4096;

// The raw text must already look like a plain web URL. The WHATWG parser forgives a lot (leading
// spaces, `Http:\\host`, tabs inside the host), and a string that only becomes http after that
// forgiveness did not come from an honest link.
const PLAIN_WEB_URL = /^https?:\/\/[^\s\\]+$/;

/** The parsed URL when `raw` is a plain http(s) link that is safe to open externally. */
export function parseSafeExternalUrl(raw: unknown): URL | undefined {
  if (typeof raw !== 'string' || raw.length > MAX_URL_LENGTH) return undefined;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f-\u009f]/.test(raw) || !PLAIN_WEB_URL.test(raw)) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.hostname === '') return undefined;
  // `https://bank.example@evil.example` reads as the bank to a person and goes to evil.example.
  if (url.username !== '' || url.password !== '') return undefined;
  return url;
}

/**
 * Opens a plain http(s) link in the user's browser; refuses everything else. Resolves whether the
 * link was opened. The normalised `href` is passed on, never the raw string.
 */
export async function openExternalSafely(raw: unknown): Promise<boolean> {
  const url = parseSafeExternalUrl(raw);
  if (!url) return false;
  try {
    await shell.openExternal(url.href);
    return true;
  } catch {
    return false;
  }
}
