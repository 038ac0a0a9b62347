import { badInput } from '../core/errors.js';

/** The cluster name check, apart from the spec's validation: the store needs it on every start. */

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function validateClusterName(name: string): string {
  if (name.length > 63 || !DNS1123_LABEL.test(name)) {
    throw badInput(
      `cluster name "${name}" is not a DNS-1123 label`,
      'use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit',
    );
  }
  return name;
}
