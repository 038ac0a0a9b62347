import type { ClusterSpec } from '../cluster/spec.js';
import { minorOf } from './profiles.js';

/**
 * The parts of kubeadm's ClusterConfiguration that keep kubeon's PKI long-lived, for the
 * kubeadm-config renderer to merge in. kubeadm reuses the certificates kubeon placed, so these only
 * matter when kubeadm itself signs something later:
 * - from 1.31 (v1beta4) `certificateValidityPeriod`/`caCertificateValidityPeriod`, so leaves that
 *   `kubeadm certs renew` or an upgrade re-signs stay as long as ours;
 * - controller-manager `cluster-signing-duration`, so kubelet client and serving certificates signed
 *   through the CSR API are as long too (map-style extraArgs in v1beta3, list-style in v1beta4);
 * - the key algorithm: `encryptionAlgorithm` in v1beta4, the `PublicKeysECDSA` feature gate before.
 * Below 1.31 kubeadm cannot be told the validity, so upgrades there must pass
 * `--certificate-renewal=false` (see src/pki/README.md).
 */

export type KubeadmApiVersion = 'kubeadm.k8s.io/v1beta3' | 'kubeadm.k8s.io/v1beta4';

export interface ExtraArg {
  name: string;
  value: string;
}

export interface PkiClusterConfiguration {
  certificateValidityPeriod?: string;
  caCertificateValidityPeriod?: string;
  encryptionAlgorithm?: string;
  featureGates?: Record<string, boolean>;
  controllerManager: { extraArgs: Record<string, string> | ExtraArg[] };
}

export function kubeadmApiVersion(version: string): KubeadmApiVersion {
  return minorOf(version) >= 31 ? 'kubeadm.k8s.io/v1beta4' : 'kubeadm.k8s.io/v1beta3';
}

export function kubeadmPkiConfig(spec: ClusterSpec, version: string): PkiClusterConfiguration {
  const signing = spec.pki.certValidity;
  if (kubeadmApiVersion(version) === 'kubeadm.k8s.io/v1beta4') {
    return {
      certificateValidityPeriod: spec.pki.certValidity,
      caCertificateValidityPeriod: spec.pki.caValidity,
      encryptionAlgorithm: spec.pki.keyAlgorithm,
      controllerManager: { extraArgs: [{ name: 'cluster-signing-duration', value: signing }] },
    };
  }
  return {
    ...(spec.pki.keyAlgorithm === 'ECDSA-P256' ? { featureGates: { PublicKeysECDSA: true } } : {}),
    controllerManager: { extraArgs: { 'cluster-signing-duration': signing } },
  };
}

/** Extra flags `kubeadm upgrade apply/node` needs so it does not replace kubeon's certificates. */
export function kubeadmUpgradeFlags(version: string): string[] {
  return minorOf(version) >= 31 ? [] : ['--certificate-renewal=false'];
}
