export { DiscordDouble, restRoutes, startDiscordDouble } from './server.js';
export type {
  ChannelMessageOptions,
  ClickButtonOptions,
  MessageRef,
  SelectMenuOptions,
  SendAutocompleteOptions,
  SendCommandOptions,
  WaitForCommandsOptions,
} from './server.js';
export { InteractionHandle } from './handle.js';
export type { DropOptions, ReadySession } from './gateway.js';
export type { RestFault, RestFaultState, RestHold, RestHoldState } from './rest.js';
export { LIMITS, MessageFlag } from './limits.js';
export { DoubleTimeoutError } from './wait.js';
export type * from './types.js';
