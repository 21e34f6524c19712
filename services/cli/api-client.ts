import { ClientErrorCode, connectionCause, FerryClient, type FerryError } from '../../packages/client/src/index.js';
import { CliError, Exit } from './cli-error.js';
import type { Credential } from './credentials.js';

/**
 * The CLI's client of a cluster: every failure becomes a {@link CliError} of one readable line
 * (the client's {@link FerryError} kept as its `cause`), which says how to give a key when the
 * cluster wants one.
 */
export class ApiClient extends FerryClient {
  /** `credential`: the API key sent with every request, if any. */
  constructor(
    url: string,
    readonly credential: Credential | null = null,
  ) {
    super({ url, token: credential?.token });
  }

  protected override failed(err: FerryError): Error {
    return failureLine(err, this.url, this.credential);
  }
}

const GIVE_A_KEY = 'give one with --token KEY, FERRY_TOKEN=KEY or `ferry login` (a local cluster keeps its first admin key in <data dir>/admin.key)';

/**
 * A failure as one line: `CODE: message` for the cluster's error answers, the client's message
 * for the rest. A refused or missing key (401) says how to give one and where the key sent came
 * from; a key whose role falls short (403) says so.
 */
function failureLine(err: FerryError, base: string, credential: Credential | null): CliError {
  const fail = (line: string): CliError => new CliError(line, Exit.FAILED, { cause: err });
  if (err.code === ClientErrorCode.UNREACHABLE) {
    return fail(`cannot reach a Ferry cluster at ${base} (${connectionCause(err.cause)}). Is it up? Start one with \`ferry up\`, or point --url / FERRY_URL at it.`);
  }
  const own = Object.values<string>(ClientErrorCode).includes(err.code);
  const line = own ? err.message : `${err.code}: ${err.message}`;
  if (err.status === 401) {
    const sent = credential ? `the cluster refused the key from ${credential.source}` : 'this cluster needs an API key and none was given';
    return fail(`${line}\n${sent}: ${GIVE_A_KEY}`);
  }
  if (err.status === 403) return fail(`${line}\nuse a key whose role allows this (an admin makes one with \`ferry keys create --role …\`)`);
  return fail(line);
}
