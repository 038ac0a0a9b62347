import type { HaMode } from '../../ha/mode.js';
import type { Phase } from '../phase.js';
import { distributePhase, fetchPhase, imagesPhase } from './artifacts.js';
import { cniPhase, kubeconfigPhase, labelsPhase, readyPhase } from './cluster.js';
import type { CreateData } from './data.js';
import { factsPhase } from './facts.js';
import { initPhase, joinMastersPhase, joinWorkersPhase } from './kubeadm.js';
import { endpointPhase, kubePhase, osPhase, pkiPhase, runtimePhase } from './node-setup.js';
import { preflightPhase } from './preflight.js';

/**
 * `kubeon create` as one list of phases: `--dry-run` prints this list's plan, a run executes it, and
 * a resumed run walks it again skipping what is done. The HA mode adds its own phases. `kubeon add`
 * is another selection of the same phases: they act on `ctx.hosts`, the nodes the run installs.
 */

/** Everything a node needs before kubeadm, on the nodes the run installs. */
const prepare: Phase<CreateData>[] = [
  factsPhase,
  preflightPhase,
  fetchPhase,
  distributePhase,
  osPhase,
  runtimePhase,
  kubePhase,
  imagesPhase,
  pkiPhase,
  endpointPhase,
];

const joins = (ha: HaMode): Phase<CreateData>[] => [
  joinMastersPhase,
  ...ha.beforeWorkerJoin,
  joinWorkersPhase,
  ...ha.afterWorkerJoin,
];

export function createPhases(ha: HaMode): Phase<CreateData>[] {
  return [
    ...prepare,
    initPhase,
    ...ha.afterInit,
    ...joins(ha),
    labelsPhase,
    cniPhase,
    readyPhase,
    kubeconfigPhase,
  ];
}

/**
 * `kubeon add`: the new nodes prepared and joined through the existing masters (the network plugin
 * and the kubeconfig are there already), then the existing nodes brought up to date with the new
 * set of masters, last, so an existing node that is down never holds back the new ones.
 */
export function addPhases(ha: HaMode): Phase<CreateData>[] {
  return [...prepare, ...joins(ha), labelsPhase, readyPhase, ...ha.mastersChanged];
}
