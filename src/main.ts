import { ConfigError, loadConfigFile, loadEnv } from './config/load.js';
import { createLogger } from './log.js';
import { startApp } from './app.js';

async function main(): Promise<void> {
  let env, config;
  try {
    env = loadEnv();
    config = loadConfigFile(env.OPSBOT_CONFIG);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`opsbot: cannot start: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config.log.level);
  const app = await startApp(config, env, log);
  log.info({ hosts: [...app.hosts.keys()] }, 'opsbot started');
  const stop = async (signal: string) => {
    log.info({ signal }, 'stopping');
    await app.stop();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`opsbot: fatal: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
