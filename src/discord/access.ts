import type { APIInteractionGuildMember, Guild, GuildMember } from 'discord.js';
import type { Actor, Role } from '../engine/view.js';

/** The alerts channel and role ids, resolved once from the guild (config may name or id them). */
export interface Access {
  alertsChannelId: string;
  roleIds: Record<Role, string>;
}

export function resolveAccess(guild: Guild, cfg: { alertsChannel: string; roles: Record<Role, string> }): Access {
  const byIdOrName = <T extends { id: string; name: string }>(items: Iterable<T>, key: string): T | undefined => {
    const list = [...items];
    return list.find((x) => x.id === key) ?? list.find((x) => x.name.toLowerCase() === key.replace(/^#/, '').toLowerCase());
  };
  const channel = byIdOrName(guild.channels.cache.values(), cfg.alertsChannel);
  if (!channel) throw new Error(`discord.alertsChannel: no channel "${cfg.alertsChannel}" in guild ${guild.id}`);
  const roleIds = {} as Record<Role, string>;
  for (const role of ['viewer', 'operator', 'approver'] as const) {
    const found = byIdOrName(guild.roles.cache.values(), cfg.roles[role]);
    if (!found) throw new Error(`discord.roles.${role}: no role "${cfg.roles[role]}" in guild ${guild.id}`);
    roleIds[role] = found.id;
  }
  return { alertsChannelId: channel.id, roleIds };
}

/** Roles rank: approver ⊇ operator ⊇ viewer ("viewer role or above"). */
export function rolesOf(access: Access, member: GuildMember | APIInteractionGuildMember | null): Role[] {
  if (!member) return [];
  const ids = new Set(Array.isArray(member.roles) ? member.roles : [...member.roles.cache.keys()]);
  const roles: Role[] = [];
  if (ids.has(access.roleIds.approver)) roles.push('approver', 'operator', 'viewer');
  else if (ids.has(access.roleIds.operator)) roles.push('operator', 'viewer');
  else if (ids.has(access.roleIds.viewer)) roles.push('viewer');
  return roles;
}

/** The username, not the display (global) name: any member can call themselves "Alice", only one is @alice. */
export function actorOf(access: Access, user: { id: string; username: string }, member: GuildMember | APIInteractionGuildMember | null): Actor {
  return { id: user.id, name: user.username, roles: rolesOf(access, member) };
}
