import type { ClusterSpec } from '../cluster/spec.js';
import { externalMode } from './external.js';
import { haproxyMode } from './haproxy.js';
import type { HaMode } from './mode.js';
import { noneMode } from './none.js';
import { updaterMode } from './updater/mode.js';

/** The HA mode of a spec: none with one master, else the spec's mode. */
export function haModeOf(spec: ClusterSpec): HaMode {
  if (spec.masters.length === 1 && spec.controlPlane.mode !== 'external') return noneMode;
  switch (spec.controlPlane.mode) {
    case 'haproxy':
      return haproxyMode;
    case 'external':
      return externalMode;
    case 'updater':
      return updaterMode;
  }
}
