import type { ClusterSpec } from '../cluster/spec.js';

/**
 * The phases of `kubeon create`, in order, with the nodes each touches. `--dry-run` prints this;
 * the runner executes the same list, so what is shown is what runs.
 */
export interface PlannedPhase {
  title: string;
  nodes: 'all' | 'first-master' | 'other-masters' | 'masters' | 'workers' | 'control-machine';
}

export function planCreate(spec: ClusterSpec): PlannedPhase[] {
  const ha = spec.controlPlane.mode;
  const phases: PlannedPhase[] = [
    { title: 'connect to every node, pin host keys, gather facts', nodes: 'all' },
    { title: 'fetch and verify artifacts into the cache', nodes: 'control-machine' },
    { title: 'generate the 100-year PKI and kubeconfigs', nodes: 'control-machine' },
    { title: 'distribute artifacts (fan-out)', nodes: 'all' },
    { title: 'prepare the OS (swap, sysctls, modules, /etc/hosts)', nodes: 'all' },
    { title: 'install containerd, runc, CNI plugins, kubelet, kubeadm', nodes: 'all' },
    { title: 'place certificates on masters', nodes: 'masters' },
    { title: 'kubeadm init', nodes: 'first-master' },
  ];
  if (spec.masters.length > 1) phases.push({ title: 'join masters one at a time', nodes: 'other-masters' });
  if (spec.workers.length > 0) {
    if (ha === 'haproxy') phases.push({ title: 'render haproxy static pod', nodes: 'workers' });
    if (ha === 'updater') phases.push({ title: 'install apiserver updater boot unit', nodes: 'workers' });
    phases.push({ title: 'join workers', nodes: 'workers' });
  }
  if (spec.network.cni !== 'none')
    phases.push({ title: `install ${spec.network.cni}`, nodes: 'control-machine' });
  if (ha === 'updater')
    phases.push({ title: 'deploy the apiserver updater controller', nodes: 'control-machine' });
  phases.push({ title: 'write the control-machine kubeconfig', nodes: 'control-machine' });
  return phases;
}
