import type { RunStatus } from '../store/store.js';
import type { Field } from './runbook.js';

export type Role = 'viewer' | 'operator' | 'approver';

/** Who did something, as the engine sees them: no platform types below this line. */
export interface Actor {
  id: string;
  name: string;
  roles: readonly Role[];
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
}

export const gateActionId = (runId: string, stepIdx: number, decision: 'confirm' | 'cancel'): string => `gate:${runId}:${stepIdx}:${decision}`;
