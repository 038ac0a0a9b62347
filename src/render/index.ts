/** The node renderers create and destroy call: pure functions of their inputs to text. */
export { calicoManifestUrl, cniManifest, rewriteImage } from './cni.js';
export { destroyScript } from './destroy.js';
export { type NodeFile, octalMode } from './files.js';
export { HAPROXY_CONFIG, HAPROXY_MANIFEST, haproxyConfig, haproxyManifest } from './haproxy.js';
export { type HostsEntry, hostsBlock, hostsBlockScript, hostsRemoveScript } from './hosts.js';
export * from './inputs.js';
export { INIT_CONFIG_PATH, JOIN_CONFIG_PATH, kubeadmInitConfig, kubeadmJoinConfig } from './kubeadm.js';
export { kubeInstallScript } from './kubelet.js';
export { type NodeFileExtras, nodeScripts, renderedFiles, scriptFile } from './node-files.js';
export { osPrepareScript } from './os.js';
export { CRI_SOCKET, runtimeInstallScript } from './runtime.js';
