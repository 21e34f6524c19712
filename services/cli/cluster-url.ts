/** Where the CLI looks for a cluster when neither --url nor FERRY_URL says: a local one, as `ferry up` starts it. */
export const DEFAULT_URL = 'http://127.0.0.1:3000';
