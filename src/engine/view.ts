import type { RunStatus } from '../store/store.js';
import type { Field } from './runbook.js';

export type Role = 'viewer' | 'operator' | 'approver';

/** Who did something, as the engine sees them: no platform types below this line. */
export interface Actor {
  /** The platform's stable user id: what authority and the audit key on. */
  id: string;
  /** A name unique on the platform (Discord: the username), never a display name anyone can set. */
  name: string;
  roles: readonly Role[];
}

/** A person named in a result, by id and unique name, so an adapter can show who it really was. */
export interface Person {
  id: string;
  name: string;
}

export interface Action {
  /** The command this button runs again, e.g. `gate:<run>:<step>:confirm` (survives restarts). */
  id: string;
  label: string;
  style: 'primary' | 'secondary' | 'success' | 'danger';
  disabled?: boolean;
}

export interface OutputBlock {
  outputId: string;
  title: string;
  text: string;
}

/** A platform-neutral result: the Discord adapter renders embeds, a console adapter plain text. */
export interface RunView {
  runId: string;
  title: string;
  status: RunStatus;
  description: string;
  fields: Field[];
  blocks: OutputBlock[];
  actions: Action[];
  footer: string;
  gate?: { stepIdx: number; expiresAt: number; fourEyes: boolean };
  /** Who asked and who decided its gates (accepted clicks), oldest first. */
  people?: { requestedBy: Person; decisions: (Person & { decision: 'confirm' | 'cancel' })[] };
  /** A run this one started, to be shown as a message of its own: the next host of a rollout, at its gate. */
  next?: RunView;
}

/** `planHash` binds a Confirm to the preview it was shown with (a changed plan refuses the click). */
export const gateActionId = (runId: string, stepIdx: number, decision: 'confirm' | 'cancel', planHash?: string): string =>
  `gate:${runId}:${stepIdx}:${decision}${planHash === undefined ? '' : `:${planHash}`}`;
