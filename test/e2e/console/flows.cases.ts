/**
 * Every approval flow of issue 14 in the browser (s17-flows), registered in console.test.ts by
 * one line: held statements and the inbox's facts and scopes, SSH and Kubernetes requests held
 * and approved, access requests, and the sessions list's filters and a live session's page.
 */
import type { ConsoleFixture } from './browser.ts';
import { flowsAccessCases } from './flows-access.cases.ts';
import { flowsScopesCases } from './flows-scopes.cases.ts';
import { flowsSessionsCases } from './flows-sessions.cases.ts';
import { flowsSshKubeCases } from './flows-ssh-kube.cases.ts';
import { describe } from 'vitest';

export function flowsCases(fx: () => ConsoleFixture): void {
  describe('approval flows: held statements, scopes', () => flowsScopesCases(fx));
  describe('approval flows: SSH and Kubernetes', () => flowsSshKubeCases(fx));
  describe('approval flows: access requests', () => flowsAccessCases(fx));
  describe('approval flows: sessions', () => flowsSessionsCases(fx));
}
