import { defineConfig } from 'vitest/config';

/**
 * The container-image test builds the Dockerfile from scratch (about 7 minutes on a fresh
 * machine, most of it compiling better-sqlite3), which alone would take `npm test` past its
 * 20-minute budget. It runs as `npm run test:image` (OPSBOT_IMAGE_TEST=1), which CI runs after
 * `npm test` (.ci/run).
 */
const IMAGE_TEST = 'test/e2e/image.test.ts';
const imageOnly = process.env.OPSBOT_IMAGE_TEST === '1';

export default defineConfig({
  test: {
    include: imageOnly ? [IMAGE_TEST] : ['test/**/*.test.ts'],
    exclude: imageOnly ? [] : [IMAGE_TEST, '**/node_modules/**'],
    // End-to-end suites share one staging host (Docker engine + sshd); run files one at a time.
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    globalSetup: ['test/global-setup.ts'],
  },
});
