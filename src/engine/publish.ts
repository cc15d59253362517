import type { Field } from './runbook.js';
import type { Action } from './view.js';

/**
 * A message the bot posts on its own initiative (a scheduled report, an alert), not as the answer
 * to a command. Platform-neutral like RunView: each adapter decides how it looks.
 */
export interface PostView {
  title: string;
  /** ok: all good (green) · warn: needs attention · fail: broken or firing (red) · info: neutral. */
  tone: 'ok' | 'warn' | 'fail' | 'info';
  description: string;
  fields: Field[];
  /** Buttons, e.g. offers (`engine.offer`) that start the runbook fixing a finding. */
  actions: Action[];
  footer?: string;
  /** A link the title points to (an alert's generator URL). */
  url?: string;
  /** The whole text behind a long post; attached as a file so nothing is lost to a size limit. */
  attachment?: { name: string; text: string };
}

/** Where unprompted posts go (Discord: the alerts channel). Refs are stable across restarts. */
export interface Publisher {
  /**
   * Posts and returns a reference for later edits. Posts with the same `key` a few minutes apart
   * (a retry, or the same post from a restarted bot) show once: the second returns the first.
   */
  post(view: PostView, options?: { key?: string }): Promise<string>;
  /** Replaces what a posted message shows (an alert that changed or resolved). */
  edit(ref: string, view: PostView): Promise<void>;
}
