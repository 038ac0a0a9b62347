/**
 * kubeadm's upgrade version policy (cmd/kubeadm/app/phases/upgrade/policy.go, EnforceVersionPolicies)
 * and how `upgrade apply` reports it (cmd/upgrade/apply.go, enforceRequirements): mandatory errors
 * always fail, skippable ones fail unless --force (or UpgradeConfiguration apply.forceUpgrade).
 * The kubelet skew is 3 minors since kubeadm 1.29 (kubernetes/kubernetes#120825).
 */
import { ConfigError, type Doc, getStr, loadConfigText } from './config.js';
import { parseVersion, type Version } from './versions.js';

const UPGRADE_SKEW = 1;
const DOWNGRADE_SKEW = 1;
const KUBELET_SKEW = 3;

export interface PolicyInput {
  cluster: Version;
  kubeadm: Version;
  target: Version;
  /** kubeletVersion of every Node */
  kubelets: string[];
}

export interface PolicyErrors {
  mandatory: string[];
  skippable: string[];
}

function less(a: Version, b: Version): boolean {
  if (a.major !== b.major) return a.major < b.major;
  if (a.minor !== b.minor) return a.minor < b.minor;
  return a.patch < b.patch;
}

export function enforceVersionPolicies(i: PolicyInput): PolicyErrors {
  const { cluster, kubeadm, target } = i;
  const t = target.text;
  const mandatory: string[] = [];
  const skippable: string[] = [];
  // MinimumControlPlaneVersion is the minor before kubeadm's; upstream names the cluster version here
  if (target.minor < kubeadm.minor - 1)
    mandatory.push(
      `Specified version to upgrade to "${t}" is equal to or lower than the minimum supported version "${cluster.text}". Please specify a higher version to upgrade to`,
    );
  if (target.minor > cluster.minor + UPGRADE_SKEW)
    mandatory.push(
      `Specified version to upgrade to "${t}" is too high; kubeadm can upgrade only ${UPGRADE_SKEW} minor version at a time`,
    );
  if (target.minor < cluster.minor - DOWNGRADE_SKEW)
    mandatory.push(
      `Specified version to downgrade to "${t}" is too low; kubeadm can downgrade only ${DOWNGRADE_SKEW} minor version at a time`,
    );
  if (less(kubeadm, target)) {
    if (target.minor > kubeadm.minor)
      mandatory.push(
        `Specified version to upgrade to "${t}" is at least one minor release higher than the kubeadm minor release (${target.minor} > ${kubeadm.minor}). Such an upgrade is not supported`,
      );
    else
      skippable.push(
        `Specified version to upgrade to "${t}" is higher than the kubeadm version "${kubeadm.text}". Upgrade kubeadm first using the tool you used to install kubeadm`,
      );
  }
  if (kubeadm.major > target.major || kubeadm.minor > target.minor)
    skippable.push(
      `Kubeadm version ${kubeadm.text} can only be used to upgrade to Kubernetes version ${kubeadm.major}.${kubeadm.minor}`,
    );
  const tooOld = [...new Set(i.kubelets)].filter((k) => {
    const v = parseVersion(k);
    return v !== undefined && target.minor > v.minor + KUBELET_SKEW;
  });
  if (tooOld.length)
    skippable.push(
      `There are kubelets in this cluster that are too old that have these versions [${tooOld.join(' ')}]`,
    );
  return { mandatory, skippable };
}

const list = (errs: string[]) => errs.map((e) => `\t- ${e}\n`).join('');

/**
 * The failure `upgrade apply` prints, or undefined when the upgrade may go on. `phased` is true from
 * 1.31, where apply runs as a workflow and the error belongs to its preflight phase; before, the
 * message is prefixed "[upgrade/version] FATAL".
 */
export function policyFailure(errs: PolicyErrors, force: boolean, phased: boolean): string | undefined {
  const arg = phased ? 'the version argument' : 'the --version argument';
  let msg: string | undefined;
  if (errs.mandatory.length)
    msg = `${arg} is invalid due to these fatal errors:\n\n${list(errs.mandatory)}\nPlease fix the misalignments highlighted above and try upgrading again`;
  else if (errs.skippable.length && !force)
    msg = `${arg} is invalid due to these errors:\n\n${list(errs.skippable)}\nCan be bypassed if you pass the --force flag`;
  if (!msg) return undefined;
  return phased ? msg : `[upgrade/version] FATAL: ${msg}`;
}

/** What `upgrade apply --force` prints about the skippable errors it passes over. */
export function forcedNotice(errs: PolicyErrors): string | undefined {
  if (!errs.skippable.length) return undefined;
  return `[upgrade/version] Found ${errs.skippable.length} potential version compatibility errors but skipping since the --force flag is set: \n\n${list(errs.skippable)}`;
}

/**
 * The stored ClusterConfiguration as `upgrade` reads it (FetchInitConfigurationFromCluster): decoded
 * by this kubeadm's scheme, so an API version it no longer knows fails, and a control-plane version
 * below its minimum (NormalizeKubernetesVersion) fails too.
 */
export function parseStoredClusterConfig(text: string, minor: number): Doc {
  try {
    const cluster = loadConfigText(text, 'kubeadm-config', minor, ['ClusterConfiguration']).docs.get(
      'ClusterConfiguration',
    );
    if (!cluster)
      throw new ConfigError('no InitConfiguration or ClusterConfiguration kind was found in the YAML file');
    const v = parseVersion(getStr(cluster, 'kubernetesVersion') ?? '');
    if (v && v.minor < minor - 1)
      throw new ConfigError(
        `this version of kubeadm only supports deploying clusters with the control plane version >= 1.${minor - 1}.0. Current version: ${v.text}`,
      );
    return cluster;
  } catch (e) {
    throw new ConfigError(`unable to fetch the kubeadm-config ConfigMap: ${(e as Error).message}`);
  }
}
