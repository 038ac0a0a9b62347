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
 * a resumed run walks it again skipping what is done. The HA mode adds its own phases.
 */
export function createPhases(ha: HaMode): Phase<CreateData>[] {
  return [
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
    initPhase,
    ...ha.afterInit,
    joinMastersPhase,
    ...ha.beforeWorkerJoin,
    joinWorkersPhase,
    ...ha.afterWorkerJoin,
    labelsPhase,
    cniPhase,
    readyPhase,
    kubeconfigPhase,
  ];
}
