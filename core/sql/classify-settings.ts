/**
 * Classification of the statements that change settings: SET/RESET (setting-statements.ts),
 * the stored settings of ALTER ROLE/DATABASE ... SET and ALTER SYSTEM, and pg_dump's one
 * set_config whose name its WHERE pins (settings-lookup.ts). A setting that changes how the
 * server reads SQL is refused (reading-settings.ts); every verdict depends on the value, so the
 * class is marked `byValue`. Called from classify.ts's walk.
 */
import type { Classification, Node } from './classification.ts';
import { variableSetEffect } from './setting-statements.ts';
import { pinnedSetConfig } from './settings-lookup.ts';

export function onVariableSet(cx: Classification, node: Node): void {
  cx.setting(variableSetEffect(node));
}

/** ALTER ROLE/DATABASE ... SET and ALTER SYSTEM: administration, refused if it would be by SET. */
export function onStoredSetting(cx: Classification, node: Node): void {
  cx.add('sql:admin');
  // The SET inside is not wrapped in a node type of its own; future sessions (and, after
  // a reload, this one) would read SQL differently.
  const set = node['setstmt'] as Node | undefined;
  const effect = set ? variableSetEffect(set) : undefined;
  cx.result.byValue = true;
  if (effect?.refusal) cx.refuse(effect.refusal);
}

/** A SELECT that is exactly pg_dump's set_config lookup: its call is read as of the pinned name. */
export function pinSetConfig(cx: Classification, select: Node): void {
  const p = pinnedSetConfig(select);
  if (!p) return;
  cx.pinned.add(p.call);
  cx.result.byValue = true;
  cx.add(p.action);
  cx.change(p.changes);
}
