/** The module `lab mirror --executables` loads by default: the stand-ins as the mirror's producer. */
import { standinExecutable, standinSourceHash } from './index.js';

export const executables = standinExecutable;
export const producerId = `standins-${standinSourceHash()}`;
