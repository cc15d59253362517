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
  // Last resort: a stray rejection or throw in a timer or listener is logged and the bot keeps
  // serving (gates, clicks and running steps live on); it is a bug to fix, not a reason to stop.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection (bug); still serving'));
  process.on('uncaughtException', (err) => log.error({ err }, 'uncaught exception (bug); still serving'));
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
