import type { FormErrors, JsonPath } from './errors.js';

/** Discord's documented limits the double enforces. */
export const LIMITS = {
  content: 2000,
  embeds: 10,
  embedTitle: 256,
  embedDescription: 4096,
  embedFields: 25,
  embedFieldName: 256,
  embedFieldValue: 1024,
  embedFooterText: 2048,
  embedAuthorName: 256,
  embedTotal: 6000,
  actionRows: 5,
  rowWidth: 5,
  customId: 100,
  buttonLabel: 80,
  selectPlaceholder: 150,
  selectOptions: 25,
  selectOptionLabel: 100,
  selectOptionValue: 100,
  selectOptionDescription: 100,
  selectValues: 25,
  componentsV2Total: 40,
  attachments: 10,
  fileSize: 10 * 1024 * 1024,
  choices: 25,
  choiceName: 100,
  choiceValue: 100,
  commandName: 32,
  commandDescription: 100,
  commandOptions: 25,
  commandTotalChars: 4000,
  chatInputCommands: 100,
  contextMenuCommands: 15,
  modalTitle: 45,
  modalComponents: 5,
  textInputLabel: 45,
  textInputValue: 4000,
  textInputPlaceholder: 100,
} as const;

/** Message flags the double cares about. */
export const MessageFlag = {
  SuppressEmbeds: 1 << 2,
  Ephemeral: 1 << 6,
  Loading: 1 << 7,
  SuppressNotifications: 1 << 12,
  IsComponentsV2: 1 << 15,
} as const;

/** `^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$` from the application command docs. */
export const COMMAND_NAME_PATTERN = /^[-_\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

type Json = Record<string, unknown>;

export function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Length as Discord counts it (Unicode code points). */
export function charLength(value: string): number {
  let n = 0;
  for (const _ of value) n += 1;
  return n;
}

interface StringRule {
  min?: number;
  max: number;
  required?: boolean;
}

/** Checks an optional/required string field against min/max length; returns the string if it is one. */
function checkString(errors: FormErrors, path: JsonPath, value: unknown, rule: StringRule): string | undefined {
  if (value === undefined || value === null) {
    if (rule.required) errors.add(path, 'BASE_TYPE_REQUIRED', 'This field is required');
    return undefined;
  }
  if (typeof value !== 'string') {
    errors.add(path, 'BASE_TYPE_STRING', 'Must be a string.');
    return undefined;
  }
  const length = charLength(value);
  const min = rule.min ?? 0;
  if (length > rule.max || length < min) {
    if (min > 0) errors.add(path, 'BASE_TYPE_BAD_LENGTH', `Must be between ${min} and ${rule.max} in length.`);
    else errors.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${rule.max} or fewer in length.`);
  }
  return value;
}

/** Checks an optional array field against a maximum length; returns the array if it is one. */
function checkArray(
  errors: FormErrors,
  path: JsonPath,
  value: unknown,
  max: number,
  min = 0,
): unknown[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) {
    errors.add(path, 'BASE_TYPE_LIST', 'Must be an array.');
    return undefined;
  }
  if (value.length > max) errors.add(path, 'BASE_TYPE_MAX_LENGTH', `Must be ${max} or fewer in length.`);
  else if (value.length < min) errors.add(path, 'BASE_TYPE_MIN_LENGTH', `Must be ${min} or more in length.`);
  return value;
}

function checkInteger(
  errors: FormErrors,
  path: JsonPath,
  value: unknown,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    errors.add(path, 'NUMBER_TYPE_COERCE', `Value "${String(value)}" is not int.`);
    return undefined;
  }
  if (value < min) errors.add(path, 'NUMBER_TYPE_MIN', `Int value should be greater than or equal to ${min}.`);
  if (value > max) errors.add(path, 'NUMBER_TYPE_MAX', `Int value should be less than or equal to ${max}.`);
  return value;
}

// ---------------------------------------------------------------------------------------------
// Embeds

/** Characters counted towards the 6000 total of a message's embeds. */
export function embedCharacters(embed: unknown): number {
  if (!isObject(embed)) return 0;
  const len = (v: unknown): number => (typeof v === 'string' ? charLength(v) : 0);
  let total = len(embed.title) + len(embed.description);
  if (Array.isArray(embed.fields)) {
    for (const field of embed.fields) if (isObject(field)) total += len(field.name) + len(field.value);
  }
  if (isObject(embed.footer)) total += len(embed.footer.text);
  if (isObject(embed.author)) total += len(embed.author.name);
  return total;
}

export function validateEmbeds(errors: FormErrors, path: JsonPath, value: unknown): void {
  const embeds = checkArray(errors, path, value, LIMITS.embeds);
  if (!embeds) return;
  let total = 0;
  embeds.forEach((embed, i) => {
    const at = [...path, i];
    if (!isObject(embed)) {
      errors.add(at, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      return;
    }
    total += embedCharacters(embed);
    checkString(errors, [...at, 'title'], embed.title, { max: LIMITS.embedTitle });
    checkString(errors, [...at, 'description'], embed.description, { max: LIMITS.embedDescription });
    checkString(errors, [...at, 'url'], embed.url, { max: 2048 });
    if (embed.color !== undefined && embed.color !== null) {
      checkInteger(errors, [...at, 'color'], embed.color, 0, 0xffffff);
    }
    const fields = checkArray(errors, [...at, 'fields'], embed.fields, LIMITS.embedFields);
    fields?.forEach((field, j) => {
      const fieldPath = [...at, 'fields', j];
      if (!isObject(field)) {
        errors.add(fieldPath, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
        return;
      }
      checkString(errors, [...fieldPath, 'name'], field.name, { min: 1, max: LIMITS.embedFieldName, required: true });
      checkString(errors, [...fieldPath, 'value'], field.value, {
        min: 1,
        max: LIMITS.embedFieldValue,
        required: true,
      });
    });
    if (embed.footer !== undefined && embed.footer !== null) {
      if (!isObject(embed.footer)) errors.add([...at, 'footer'], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      else checkString(errors, [...at, 'footer', 'text'], embed.footer.text, { min: 1, max: LIMITS.embedFooterText, required: true });
    }
    if (embed.author !== undefined && embed.author !== null) {
      if (!isObject(embed.author)) errors.add([...at, 'author'], 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      else checkString(errors, [...at, 'author', 'name'], embed.author.name, { min: 1, max: LIMITS.embedAuthorName, required: true });
    }
  });
  if (total > LIMITS.embedTotal) {
    errors.add(path, 'MAX_EMBED_SIZE_EXCEEDED', `Embed size exceeds maximum size of ${LIMITS.embedTotal}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Components

export const ComponentType = {
  ActionRow: 1,
  Button: 2,
  StringSelect: 3,
  TextInput: 4,
  UserSelect: 5,
  RoleSelect: 6,
  MentionableSelect: 7,
  ChannelSelect: 8,
  Section: 9,
  TextDisplay: 10,
  Thumbnail: 11,
  MediaGallery: 12,
  File: 13,
  Separator: 14,
  Container: 17,
  Label: 18,
} as const;

export const ButtonStyle = { Primary: 1, Secondary: 2, Success: 3, Danger: 4, Link: 5, Premium: 6 } as const;

const SELECT_TYPES = new Set<number>([
  ComponentType.StringSelect,
  ComponentType.UserSelect,
  ComponentType.RoleSelect,
  ComponentType.MentionableSelect,
  ComponentType.ChannelSelect,
]);

interface ComponentContext {
  errors: FormErrors;
  customIds: Map<string, JsonPath>;
  count: number;
}

function checkCustomId(ctx: ComponentContext, path: JsonPath, value: unknown): void {
  const customId = checkString(ctx.errors, [...path, 'custom_id'], value, {
    min: 1,
    max: LIMITS.customId,
    required: true,
  });
  if (customId === undefined) return;
  if (ctx.customIds.has(customId)) {
    ctx.errors.add([...path, 'custom_id'], 'COMPONENT_CUSTOM_ID_DUPLICATED', 'Component custom id cannot be duplicated');
  } else {
    ctx.customIds.set(customId, path);
  }
}

function validateButton(ctx: ComponentContext, path: JsonPath, button: Json): void {
  const { errors } = ctx;
  const style = button.style;
  if (typeof style !== 'number' || !Number.isInteger(style) || style < 1 || style > 6) {
    errors.add([...path, 'style'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4, 5, 6}.');
    return;
  }
  checkString(errors, [...path, 'label'], button.label, { max: LIMITS.buttonLabel });
  if (style === ButtonStyle.Link) {
    checkString(errors, [...path, 'url'], button.url, { min: 1, max: 512, required: true });
    if (button.custom_id !== undefined && button.custom_id !== null) {
      errors.add([...path, 'custom_id'], 'BUTTON_COMPONENT_CUSTOM_ID_NOT_ALLOWED', 'A link button cannot have a custom id');
    }
  } else if (style === ButtonStyle.Premium) {
    checkString(errors, [...path, 'sku_id'], button.sku_id, { min: 1, max: 20, required: true });
    for (const key of ['custom_id', 'url', 'label', 'emoji'] as const) {
      if (button[key] !== undefined && button[key] !== null) {
        errors.add([...path, key], 'BUTTON_COMPONENT_FIELD_NOT_ALLOWED', `A premium button cannot have a ${key}`);
      }
    }
  } else {
    checkCustomId(ctx, path, button.custom_id);
    if (button.url !== undefined && button.url !== null) {
      errors.add([...path, 'url'], 'BUTTON_COMPONENT_URL_NOT_ALLOWED', 'Only link buttons can have a url');
    }
  }
  if (style !== ButtonStyle.Premium) {
    const hasLabel = typeof button.label === 'string' && button.label.length > 0;
    if (!hasLabel && !isObject(button.emoji)) {
      errors.add(path, 'BUTTON_COMPONENT_LABEL_OR_EMOJI_REQUIRED', 'A button must have a label or an emoji');
    }
  }
}

function validateSelect(ctx: ComponentContext, path: JsonPath, select: Json, type: number): void {
  const { errors } = ctx;
  checkCustomId(ctx, path, select.custom_id);
  checkString(errors, [...path, 'placeholder'], select.placeholder, { max: LIMITS.selectPlaceholder });
  const min = checkInteger(errors, [...path, 'min_values'], select.min_values, 0, LIMITS.selectValues);
  const max = checkInteger(errors, [...path, 'max_values'], select.max_values, 1, LIMITS.selectValues);
  if (type === ComponentType.StringSelect) {
    const options = checkArray(errors, [...path, 'options'], select.options, LIMITS.selectOptions, 1);
    if (!options) {
      if (select.options === undefined || select.options === null) {
        errors.add([...path, 'options'], 'BASE_TYPE_REQUIRED', 'This field is required');
      }
      return;
    }
    const values = new Set<string>();
    options.forEach((option, i) => {
      const at = [...path, 'options', i];
      if (!isObject(option)) {
        errors.add(at, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
        return;
      }
      checkString(errors, [...at, 'label'], option.label, { min: 1, max: LIMITS.selectOptionLabel, required: true });
      const value = checkString(errors, [...at, 'value'], option.value, {
        min: 1,
        max: LIMITS.selectOptionValue,
        required: true,
      });
      checkString(errors, [...at, 'description'], option.description, { max: LIMITS.selectOptionDescription });
      if (value !== undefined) {
        if (values.has(value)) {
          errors.add([...at, 'value'], 'SELECT_COMPONENT_OPTION_VALUE_DUPLICATED', 'Select option values must be unique');
        }
        values.add(value);
      }
    });
    const maxValues = max ?? 1;
    if (maxValues > options.length) {
      errors.add([...path, 'max_values'], 'SELECT_COMPONENT_MAX_VALUES_TOO_LARGE', `Must be less than or equal to the number of options (${options.length}).`);
    }
  }
  if (min !== undefined && max !== undefined && min > max) {
    errors.add([...path, 'min_values'], 'SELECT_COMPONENT_MIN_GREATER_THAN_MAX', 'min_values must be less than or equal to max_values');
  }
}

function validateActionRow(ctx: ComponentContext, path: JsonPath, row: Json): void {
  const { errors } = ctx;
  const children = row.components;
  if (!Array.isArray(children)) {
    errors.add([...path, 'components'], 'BASE_TYPE_REQUIRED', 'This field is required');
    return;
  }
  if (children.length === 0) {
    errors.add([...path, 'components'], 'BASE_TYPE_BAD_LENGTH', `Must be between 1 and ${LIMITS.rowWidth} in length.`);
    return;
  }
  let width = 0;
  children.forEach((child, i) => {
    const at = [...path, 'components', i];
    ctx.count += 1;
    if (!isObject(child) || typeof child.type !== 'number') {
      errors.add(at, 'UNION_TYPE_CHOICES', 'Value of field "type" must be one of (2, 3, 5, 6, 7, 8).');
      return;
    }
    if (child.type === ComponentType.Button) {
      width += 1;
      validateButton(ctx, at, child);
    } else if (SELECT_TYPES.has(child.type)) {
      width += LIMITS.rowWidth;
      validateSelect(ctx, at, child, child.type);
    } else {
      errors.add(at, 'COMPONENT_TYPE_INVALID', 'The specified component type is invalid in this context');
      return;
    }
    if (width > LIMITS.rowWidth) {
      errors.add(at, 'COMPONENT_LAYOUT_WIDTH_EXCEEDED', 'The specified component exceeds the maximum width');
    }
  });
}

/** Walks a Components V2 tree; action rows, buttons and selects get the same checks as classic ones. */
function validateV2Component(ctx: ComponentContext, path: JsonPath, component: unknown): void {
  const { errors } = ctx;
  ctx.count += 1;
  if (!isObject(component) || typeof component.type !== 'number') {
    errors.add(path, 'UNION_TYPE_CHOICES', 'Value of field "type" is not a valid component type.');
    return;
  }
  switch (component.type) {
    case ComponentType.ActionRow:
      validateActionRow(ctx, path, component);
      break;
    case ComponentType.TextDisplay:
      checkString(errors, [...path, 'content'], component.content, { min: 1, max: 4000, required: true });
      break;
    case ComponentType.Container:
    case ComponentType.Section: {
      const children = checkArray(errors, [...path, 'components'], component.components, 10, 1);
      children?.forEach((child, i) => validateV2Component(ctx, [...path, 'components', i], child));
      if (component.type === ComponentType.Section && component.accessory !== undefined) {
        const accessory = component.accessory;
        if (isObject(accessory) && accessory.type === ComponentType.Button) {
          ctx.count += 1;
          validateButton(ctx, [...path, 'accessory'], accessory);
        }
      }
      break;
    }
    case ComponentType.Separator:
    case ComponentType.Thumbnail:
    case ComponentType.MediaGallery:
    case ComponentType.File:
      break;
    default:
      errors.add(path, 'COMPONENT_TYPE_INVALID', 'The specified component type is invalid in this context');
  }
}

export function validateComponents(errors: FormErrors, path: JsonPath, value: unknown, flags: number): void {
  const ctx: ComponentContext = { errors, customIds: new Map(), count: 0 };
  if ((flags & MessageFlag.IsComponentsV2) !== 0) {
    const components = checkArray(errors, path, value, LIMITS.componentsV2Total);
    components?.forEach((component, i) => validateV2Component(ctx, [...path, i], component));
    if (ctx.count > LIMITS.componentsV2Total) {
      errors.add(path, 'COMPONENT_MAX_TOTAL_COMPONENTS_EXCEEDED', `Total number of components must be ${LIMITS.componentsV2Total} or fewer.`);
    }
    return;
  }
  const rows = checkArray(errors, path, value, LIMITS.actionRows);
  rows?.forEach((row, i) => {
    const at = [...path, i];
    if (!isObject(row) || row.type !== ComponentType.ActionRow) {
      errors.add(at, 'COMPONENT_TYPE_INVALID', 'The specified component type is invalid in this context');
      return;
    }
    validateActionRow(ctx, at, row);
  });
}

// ---------------------------------------------------------------------------------------------
// Messages

export interface MessageCheckOptions {
  /** Files uploaded with the request (they count as content). */
  files: number;
  /** Where the message fields live (`["data"]` for interaction callbacks). */
  prefix?: JsonPath;
}

/** Validates the message fields of a create/edit body against Discord's limits. */
export function validateMessageBody(errors: FormErrors, body: Json, options: MessageCheckOptions): void {
  const prefix = options.prefix ?? [];
  checkString(errors, [...prefix, 'content'], body.content, { max: LIMITS.content });
  validateEmbeds(errors, [...prefix, 'embeds'], body.embeds);
  const flags = typeof body.flags === 'number' ? body.flags : 0;
  validateComponents(errors, [...prefix, 'components'], body.components, flags);
  if ((flags & MessageFlag.IsComponentsV2) !== 0) {
    for (const key of ['content', 'embeds', 'poll'] as const) {
      const v = body[key];
      if (v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0) && v !== '') {
        errors.add([...prefix, key], 'MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2', `The '${key}' field cannot be used when using MessageFlags.IS_COMPONENTS_V2`);
      }
    }
  }
  checkArray(errors, [...prefix, 'attachments'], body.attachments, LIMITS.attachments);
  if (options.files > LIMITS.attachments) {
    errors.add([...prefix, 'files'], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.attachments} or fewer in length.`);
  }
  checkArray(errors, [...prefix, 'sticker_ids'], body.sticker_ids, 3);
}

/** A message with none of content, embeds, attachments, components, stickers, poll is empty. */
export function isEmptyMessage(message: {
  content?: unknown;
  embeds?: unknown;
  attachments?: unknown;
  components?: unknown;
  sticker_ids?: unknown;
  sticker_items?: unknown;
  poll?: unknown;
}): boolean {
  const nonEmptyArray = (v: unknown): boolean => Array.isArray(v) && v.length > 0;
  return !(
    (typeof message.content === 'string' && message.content.length > 0) ||
    nonEmptyArray(message.embeds) ||
    nonEmptyArray(message.attachments) ||
    nonEmptyArray(message.components) ||
    nonEmptyArray(message.sticker_ids) ||
    nonEmptyArray(message.sticker_items) ||
    isObject(message.poll)
  );
}

// ---------------------------------------------------------------------------------------------
// Autocomplete choices and modals

export function validateChoices(
  errors: FormErrors,
  path: JsonPath,
  value: unknown,
  options: { required: boolean },
): void {
  if ((value === undefined || value === null) && options.required) {
    errors.add(path, 'BASE_TYPE_REQUIRED', 'This field is required');
    return;
  }
  const choices = checkArray(errors, path, value, LIMITS.choices);
  choices?.forEach((choice, i) => {
    const at = [...path, i];
    if (!isObject(choice)) {
      errors.add(at, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      return;
    }
    checkString(errors, [...at, 'name'], choice.name, { min: 1, max: LIMITS.choiceName, required: true });
    if (typeof choice.value === 'string') {
      checkString(errors, [...at, 'value'], choice.value, { max: LIMITS.choiceValue });
    } else if (typeof choice.value !== 'number') {
      errors.add([...at, 'value'], 'BASE_TYPE_REQUIRED', 'This field is required');
    }
  });
}

export function validateModal(errors: FormErrors, path: JsonPath, data: unknown): void {
  if (!isObject(data)) {
    errors.add(path, 'BASE_TYPE_REQUIRED', 'This field is required');
    return;
  }
  checkString(errors, [...path, 'title'], data.title, { min: 1, max: LIMITS.modalTitle, required: true });
  const ctx: ComponentContext = { errors, customIds: new Map(), count: 0 };
  checkCustomId(ctx, path, data.custom_id);
  ctx.customIds.clear();
  const rows = checkArray(errors, [...path, 'components'], data.components, LIMITS.modalComponents, 1);
  if (!rows) {
    if (data.components === undefined || data.components === null) {
      errors.add([...path, 'components'], 'BASE_TYPE_REQUIRED', 'This field is required');
    }
    return;
  }
  rows.forEach((row, i) => {
    const at = [...path, 'components', i];
    if (!isObject(row)) {
      errors.add(at, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      return;
    }
    let input: unknown;
    let inputPath: JsonPath;
    if (row.type === ComponentType.ActionRow) {
      const children = checkArray(errors, [...at, 'components'], row.components, 1, 1);
      input = children?.[0];
      inputPath = [...at, 'components', 0];
    } else if (row.type === ComponentType.Label) {
      checkString(errors, [...at, 'label'], row.label, { min: 1, max: LIMITS.textInputLabel, required: true });
      checkString(errors, [...at, 'description'], row.description, { max: 100 });
      input = row.component;
      inputPath = [...at, 'component'];
    } else if (row.type === ComponentType.TextDisplay) {
      return;
    } else {
      errors.add(at, 'COMPONENT_TYPE_INVALID', 'The specified component type is invalid in this context');
      return;
    }
    if (!isObject(input)) return;
    if (input.type === ComponentType.TextInput) {
      checkCustomId(ctx, inputPath, input.custom_id);
      if (row.type === ComponentType.ActionRow) {
        checkString(errors, [...inputPath, 'label'], input.label, { min: 1, max: LIMITS.textInputLabel, required: true });
      }
      checkString(errors, [...inputPath, 'placeholder'], input.placeholder, { max: LIMITS.textInputPlaceholder });
      checkString(errors, [...inputPath, 'value'], input.value, { max: LIMITS.textInputValue });
      checkInteger(errors, [...inputPath, 'min_length'], input.min_length, 0, LIMITS.textInputValue);
      checkInteger(errors, [...inputPath, 'max_length'], input.max_length, 1, LIMITS.textInputValue);
    } else if (SELECT_TYPES.has(Number(input.type))) {
      validateSelect(ctx, inputPath, input, Number(input.type));
    } else {
      errors.add(inputPath, 'COMPONENT_TYPE_INVALID', 'The specified component type is invalid in this context');
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Application commands

export const OptionType = {
  Subcommand: 1,
  SubcommandGroup: 2,
  String: 3,
  Integer: 4,
  Boolean: 5,
  User: 6,
  Channel: 7,
  Role: 8,
  Mentionable: 9,
  Number: 10,
  Attachment: 11,
} as const;

export const CommandType = { ChatInput: 1, User: 2, Message: 3, PrimaryEntryPoint: 4 } as const;

function checkCommandName(errors: FormErrors, path: JsonPath, value: unknown, chatInput: boolean): string | undefined {
  const name = checkString(errors, path, value, { min: 1, max: LIMITS.commandName, required: true });
  if (name === undefined || !chatInput) return name;
  if (!COMMAND_NAME_PATTERN.test(name)) {
    errors.add(path, 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid');
  } else if (name !== name.toLowerCase()) {
    errors.add(path, 'APPLICATION_COMMAND_INVALID_NAME', 'Command name must be lowercase');
  }
  return name;
}

function checkLocalizations(
  errors: FormErrors,
  path: JsonPath,
  value: unknown,
  rule: { min: number; max: number; name: boolean },
): void {
  if (value === undefined || value === null) return;
  if (!isObject(value)) {
    errors.add(path, 'DICT_TYPE_CONVERT', 'Only dictionaries may be used in a DictType');
    return;
  }
  for (const [locale, text] of Object.entries(value)) {
    if (text === null) continue;
    if (rule.name) checkCommandName(errors, [...path, locale], text, true);
    else checkString(errors, [...path, locale], text, { min: rule.min, max: rule.max, required: true });
  }
}

interface CommandSize {
  chars: number;
}

function validateOptions(
  errors: FormErrors,
  path: JsonPath,
  value: unknown,
  depth: number,
  size: CommandSize,
): void {
  const options = checkArray(errors, path, value, LIMITS.commandOptions);
  if (!options) return;
  const names = new Set<string>();
  let sawOptional = false;
  let sawSub = false;
  let sawPlain = false;
  options.forEach((option, i) => {
    const at = [...path, i];
    if (!isObject(option)) {
      errors.add(at, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
      return;
    }
    const type = option.type;
    if (typeof type !== 'number' || !Number.isInteger(type) || type < 1 || type > 11) {
      errors.add([...at, 'type'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.');
      return;
    }
    const name = checkCommandName(errors, [...at, 'name'], option.name, true);
    const description = checkString(errors, [...at, 'description'], option.description, {
      min: 1,
      max: LIMITS.commandDescription,
      required: true,
    });
    size.chars += (name ? charLength(name) : 0) + (description ? charLength(description) : 0);
    checkLocalizations(errors, [...at, 'name_localizations'], option.name_localizations, { min: 1, max: 32, name: true });
    checkLocalizations(errors, [...at, 'description_localizations'], option.description_localizations, {
      min: 1,
      max: LIMITS.commandDescription,
      name: false,
    });
    if (name !== undefined) {
      if (names.has(name)) errors.add([...at, 'name'], 'APPLICATION_COMMAND_OPTION_NAME_NOT_UNIQUE', 'Option names must be unique');
      names.add(name);
    }
    const isSub = type === OptionType.Subcommand || type === OptionType.SubcommandGroup;
    if (isSub) {
      sawSub = true;
      if (type === OptionType.SubcommandGroup && depth > 0) {
        errors.add([...at, 'type'], 'APPLICATION_COMMAND_OPTION_TYPE_INVALID', 'Subcommand groups can only be nested at the top level');
      }
      if (type === OptionType.Subcommand && depth > 1) {
        errors.add([...at, 'type'], 'APPLICATION_COMMAND_OPTION_TYPE_INVALID', 'Subcommands cannot be nested in a subcommand');
      }
      if (type === OptionType.SubcommandGroup && Array.isArray(option.options)) {
        option.options.forEach((child, j) => {
          if (isObject(child) && child.type !== OptionType.Subcommand) {
            errors.add([...at, 'options', j, 'type'], 'APPLICATION_COMMAND_OPTION_TYPE_INVALID', 'Subcommand groups can only contain subcommands');
          }
        });
      }
      validateOptions(errors, [...at, 'options'], option.options, depth + 1, size);
      return;
    }
    sawPlain = true;
    if (option.required === true) {
      if (sawOptional) {
        errors.add([...at, 'required'], 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', 'Required options must be placed before non-required options');
      }
    } else {
      sawOptional = true;
    }
    const hasChoices = Array.isArray(option.choices) && option.choices.length > 0;
    if (option.choices !== undefined && option.choices !== null) {
      if (type !== OptionType.String && type !== OptionType.Integer && type !== OptionType.Number) {
        errors.add([...at, 'choices'], 'APPLICATION_COMMAND_OPTION_CHOICES_NOT_ALLOWED', 'Choices are only allowed for string, integer and number options');
      }
      validateChoices(errors, [...at, 'choices'], option.choices, { required: false });
      if (Array.isArray(option.choices)) {
        for (const choice of option.choices) {
          if (!isObject(choice)) continue;
          if (typeof choice.name === 'string') size.chars += charLength(choice.name);
          if (typeof choice.value === 'string') size.chars += charLength(choice.value);
          if (type === OptionType.String && typeof choice.value !== 'string') {
            errors.add([...at, 'choices'], 'APPLICATION_COMMAND_OPTION_CHOICE_TYPE_INVALID', 'Choice values must match the option type');
          }
          if (type === OptionType.Integer && !Number.isInteger(choice.value)) {
            errors.add([...at, 'choices'], 'APPLICATION_COMMAND_OPTION_CHOICE_TYPE_INVALID', 'Choice values must match the option type');
          }
        }
      }
    }
    if (option.autocomplete === true && hasChoices) {
      errors.add([...at, 'autocomplete'], 'APPLICATION_COMMAND_AUTOCOMPLETE_CHOICES_CONFLICT', 'Autocomplete cannot be set with choices');
    }
    if (option.autocomplete === true && type !== OptionType.String && type !== OptionType.Integer && type !== OptionType.Number) {
      errors.add([...at, 'autocomplete'], 'APPLICATION_COMMAND_AUTOCOMPLETE_NOT_ALLOWED', 'Autocomplete is only allowed for string, integer and number options');
    }
    if (type === OptionType.String) {
      checkInteger(errors, [...at, 'min_length'], option.min_length, 0, 6000);
      checkInteger(errors, [...at, 'max_length'], option.max_length, 1, 6000);
    }
  });
  if (sawSub && sawPlain) {
    errors.add(path, 'APPLICATION_COMMAND_OPTIONS_TYPE_INVALID', 'Subcommands and subcommand groups cannot be mixed with other options');
  }
}

/** Validates one application command body (POST/PATCH, or one element of a PUT). */
export function validateCommand(errors: FormErrors, path: JsonPath, command: unknown, partial = false): void {
  if (!isObject(command)) {
    errors.add(path, 'MODEL_TYPE_CONVERT', 'Only dictionaries may be used in a ModelType');
    return;
  }
  const type = command.type ?? CommandType.ChatInput;
  if (typeof type !== 'number' || type < 1 || type > 4) {
    errors.add([...path, 'type'], 'BASE_TYPE_CHOICES', 'Value must be one of {1, 2, 3, 4}.');
    return;
  }
  const chatInput = type === CommandType.ChatInput;
  const size: CommandSize = { chars: 0 };
  if (!partial || command.name !== undefined) {
    const name = checkCommandName(errors, [...path, 'name'], command.name, chatInput);
    if (name) size.chars += charLength(name);
  }
  checkLocalizations(errors, [...path, 'name_localizations'], command.name_localizations, {
    min: 1,
    max: 32,
    name: chatInput,
  });
  if (chatInput) {
    if (!partial || command.description !== undefined) {
      const description = checkString(errors, [...path, 'description'], command.description, {
        min: 1,
        max: LIMITS.commandDescription,
        required: true,
      });
      if (description) size.chars += charLength(description);
    }
    checkLocalizations(errors, [...path, 'description_localizations'], command.description_localizations, {
      min: 1,
      max: LIMITS.commandDescription,
      name: false,
    });
    validateOptions(errors, [...path, 'options'], command.options, 0, size);
  } else {
    if (typeof command.description === 'string' && command.description !== '') {
      errors.add([...path, 'description'], 'APPLICATION_COMMAND_DESCRIPTION_NOT_ALLOWED', 'Context menu commands cannot have a description');
    }
    if (Array.isArray(command.options) && command.options.length > 0) {
      errors.add([...path, 'options'], 'APPLICATION_COMMAND_OPTIONS_NOT_ALLOWED', 'Context menu commands cannot have options');
    }
  }
  if (size.chars > LIMITS.commandTotalChars) {
    errors.add(path, 'APPLICATION_COMMAND_TOO_LARGE', `Command exceeds maximum size (${LIMITS.commandTotalChars})`);
  }
}

/** Validates a bulk overwrite (PUT) list: every command, counts per type and unique names. */
export function validateCommandList(errors: FormErrors, list: unknown): void {
  if (!Array.isArray(list)) {
    errors.add([], 'BASE_TYPE_LIST', 'Must be an array.');
    return;
  }
  const seen = new Map<string, number>();
  const perType = new Map<number, number>();
  list.forEach((command, i) => {
    validateCommand(errors, [i], command);
    if (!isObject(command)) return;
    const type = typeof command.type === 'number' ? command.type : CommandType.ChatInput;
    perType.set(type, (perType.get(type) ?? 0) + 1);
    if (typeof command.name === 'string') {
      const key = `${type}:${command.name}`;
      if (seen.has(key)) {
        errors.add([i, 'name'], 'APPLICATION_COMMANDS_DUPLICATE_NAME', `Application command names must be unique (duplicate of ${seen.get(key)})`);
      } else {
        seen.set(key, i);
      }
    }
  });
  if ((perType.get(CommandType.ChatInput) ?? 0) > LIMITS.chatInputCommands) {
    errors.add([], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.chatInputCommands} or fewer chat input commands.`);
  }
  for (const type of [CommandType.User, CommandType.Message]) {
    if ((perType.get(type) ?? 0) > LIMITS.contextMenuCommands) {
      errors.add([], 'BASE_TYPE_MAX_LENGTH', `Must be ${LIMITS.contextMenuCommands} or fewer context menu commands of type ${type}.`);
    }
  }
}
