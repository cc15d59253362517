import { REST, Routes, type APIApplication } from 'discord.js';
import { buildCommands } from '../commands/index.js';
import { ConfigError, loadConfigFile, loadEnv } from './config/load.js';

/** Bulk-overwrites the guild's slash commands (the bot also does this at every start). */
async function main(): Promise<void> {
  const env = loadEnv();
  const config = loadConfigFile(env.OPSBOT_CONFIG);
  const rest = new REST(env.DISCORD_API_URL ? { api: env.DISCORD_API_URL } : {}).setToken(env.DISCORD_TOKEN);
  const app = (await rest.get(Routes.currentApplication())) as APIApplication;
  const body = buildCommands(config.hosts.map((h) => h.name)).map((c) => c.data);
  await rest.put(Routes.applicationGuildCommands(app.id, config.discord.guildId), { body });
  process.stdout.write(`registered ${body.length} commands in guild ${config.discord.guildId}: ${body.map((c) => `/${c.name}`).join(' ')}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`deploy-commands: ${err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
