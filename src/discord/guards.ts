import type { Role } from '../engine/view.js';
import type { Access } from './access.js';

/** What a guard sees of an interaction. */
export interface GuardInput {
  channelId: string | null;
  roles: readonly Role[];
}

/** A named check: null when it passes, else the reason shown (ephemerally) to the member. */
export type Guard = (input: GuardInput, access: Access) => string | null;

export const inAlertsChannel: Guard = (i, access) =>
  i.channelId === access.alertsChannelId ? null : `This command works only in <#${access.alertsChannelId}>, where the team can see what runs. Nothing was run.`;

export const hasRole =
  (role: Role): Guard =>
  (i, access) =>
    i.roles.includes(role) ? null : `You need the <@&${access.roleIds[role]}> role (or above) for this. Nothing was run.`;

export function firstRefusal(guards: readonly Guard[], input: GuardInput, access: Access): string | null {
  for (const g of guards) {
    const reason = g(input, access);
    if (reason !== null) return reason;
  }
  return null;
}
