import { KubeonError } from '../core/errors.js';
import { plural } from '../core/suggest.js';

/** One URL tried for one file, and why it did not serve it (as `reasonOf` words it). */
export interface FailedAttempt {
  url: string;
  reason: string;
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

/** The cause of one failed attempt in a few words a user can act on, naming the host. */
export function causeOf(a: FailedAttempt): string {
  const checksum = a.reason.startsWith('checksum: ');
  const reason = checksum ? a.reason.slice('checksum: '.length) : a.reason;
  const host = hostOf(a.url);
  const status = /HTTP (\d{3})/.exec(reason);
  let cause: string;
  if (/ENOTFOUND|EAI_AGAIN/.test(reason)) cause = `cannot resolve ${host}: no network or DNS?`;
  else if (/ECONNREFUSED/.test(reason)) cause = `${host} refused the connection`;
  else if (/ETIMEDOUT|CONNECT_TIMEOUT|HEADERS_TIMEOUT|BODY_TIMEOUT|timed? ?out|aborted/i.test(reason))
    cause = `${host} did not answer in time`;
  else if (/ENETUNREACH|EHOSTUNREACH/.test(reason))
    cause = `${host} is unreachable: no route (network down?)`;
  else if (/ECONNRESET|closed|UND_ERR_SOCKET/.test(reason)) cause = `${host} closed the connection`;
  else if (status) cause = `HTTP ${status[1]} from ${host}`;
  else if (/mismatch/.test(reason)) cause = `${host} served other bytes than the checksum (sha256 mismatch)`;
  else if (/CERT|certificate|SSL|TLS/i.test(reason)) cause = `TLS failed with ${host}: ${reason}`;
  else if (/no configured mirror/.test(reason)) cause = reason;
  else cause = `${host}: ${reason}`;
  return checksum ? `checksum: ${cause}` : cause;
}

/**
 * The error for files no mirror could serve: failed URLs grouped by cause, one short line per cause
 * with how many URLs it hit and one of them, instead of every URL and reason on one long line.
 */
export function fetchFailureError(
  failures: readonly { attempts?: readonly FailedAttempt[]; message?: string }[],
  total: number,
  what = 'files',
): KubeonError {
  const groups = new Map<string, string[]>();
  for (const f of failures) {
    const attempts = f.attempts?.length ? f.attempts : [{ url: '', reason: f.message ?? 'unknown error' }];
    for (const a of attempts) {
      const cause = a.url ? causeOf(a) : a.reason;
      groups.set(cause, [...(groups.get(cause) ?? []), a.url].filter(Boolean));
    }
  }
  const lines = [...groups].map(([cause, urls]) =>
    urls.length <= 1
      ? `  ${cause}${urls[0] ? `: ${urls[0]}` : ''}`
      : `  ${cause}: ${plural(urls.length, 'URL')}, e.g. ${urls[0]}`,
  );
  return new KubeonError(
    `${failures.length} of ${total} ${what} could not be fetched:\n${lines.join('\n')}\n`,
    {
      hint: 'check the mirror list (--mirror, KUBEON_MIRROR) and the network or proxy (HTTPS_PROXY); a re-run resumes partial files',
    },
  );
}
