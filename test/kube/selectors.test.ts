import { describe, expect, it } from 'vitest';
import { findType, type KubeObject } from './resources.ts';
import { fieldSelector, labelSelector } from './selectors.ts';

const pod = (name: string, labels: Record<string, string>, phase = 'Running') =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, status: { phase } }) as KubeObject;
const pods = [pod('a', { app: 'web', tier: 'fe' }), pod('b', { app: 'db' }, 'Pending'), pod('c', {})];
const names = (m: (o: KubeObject) => boolean) => pods.filter(m).map((p) => p.metadata.name);

describe('selectors', () => {
  it('label selectors: equality, inequality, set and existence terms joined by commas', () => {
    expect(names(labelSelector('app=web'))).toEqual(['a']);
    expect(names(labelSelector('app!=web'))).toEqual(['b', 'c']);
    expect(names(labelSelector('app in (web, db),!tier'))).toEqual(['b']);
    expect(names(labelSelector('app notin (web)'))).toEqual(['b', 'c']);
    expect(names(labelSelector('tier'))).toEqual(['a']);
    expect(() => labelSelector('a b c')).toThrow(/unable to parse/);
  });

  it('field selectors: metadata.name and the labels the type supports; others are refused', () => {
    const t = findType('', 'v1', 'pods')!;
    expect(names(fieldSelector('status.phase=Pending', t))).toEqual(['b']);
    expect(names(fieldSelector('metadata.name!=a,status.phase=Running', t))).toEqual(['c']);
    expect(() => fieldSelector('spec.secret=x', t)).toThrow(/field label not supported: spec.secret/);
  });
});
