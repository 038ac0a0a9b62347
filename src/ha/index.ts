import type { ClusterSpec } from '../cluster/spec.js';
import { notImplemented } from '../core/errors.js';
import { haproxyMode } from './haproxy.js';
import type { HaMode } from './mode.js';
import { noneMode } from './none.js';

/** The HA mode of a spec: none with one master, else the spec's mode. */
export function haModeOf(spec: ClusterSpec): HaMode {
  if (spec.masters.length === 1 && spec.controlPlane.mode !== 'external') return noneMode;
  switch (spec.controlPlane.mode) {
    case 'haproxy':
      return haproxyMode;
    case 'external':
    case 'updater':
      // Slots for the HA issue: each is one more HaMode, nothing in create changes.
      throw notImplemented(`control-plane mode "${spec.controlPlane.mode}"`);
  }
}
