import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // Integration tests spawn real daemons and Docker containers; one file at a time keeps
    // a 2-core machine from starving the processes under test.
    fileParallelism: false,
    // In-process loggers stay quiet; daemons under test log to pipes the helpers read.
    env: { FERRY_LOG_LEVEL: 'silent' },
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
