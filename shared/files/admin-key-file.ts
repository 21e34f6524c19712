import path from 'node:path';

/** The file the api writes the first admin key to, in the data folder. */
export const adminKeyFile = (dataDir: string): string => path.join(dataDir, 'admin.key');
