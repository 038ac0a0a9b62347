/**
 * Field-level shapes of the configuration APIs the stand-ins decode, transcribed from the Go types
 * (kubeadm.k8s.io v1beta3/v1beta4, bootstraptoken v1, kubelet.config.k8s.io/v1beta1,
 * kubeproxy.config.k8s.io/v1alpha1). Decoding is strict the way sigs.k8s.io/yaml + apimachinery's
 * strict decoder are: unknown fields and type mismatches are errors named by their JSON path.
 */
export type Shape =
  | 'string'
  | 'bool'
  | 'int'
  | 'duration'
  | 'any'
  | { obj: Record<string, Shape>; goType: string }
  | { list: Shape; goType: string }
  | { map: Shape; goType: string };

const obj = (goType: string, fields: Record<string, Shape>): Shape => ({ obj: fields, goType });
const list = (goType: string, item: Shape): Shape => ({ list: item, goType });
const map = (goType: string, value: Shape = 'string'): Shape => ({ map: value, goType });
const strings = list('[]string', 'string');

export interface DecodeProblems {
  /** Fields the real strict decoder reports as `strict decoding error: unknown field "…"`. */
  unknown: string[];
  /** Type mismatches, which the real (non-strict) decoder also refuses. */
  fatal: string[];
}

function jsonType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  return typeof v;
}

function typeError(path: string, v: unknown, goType: string, parent: string): string {
  return `json: cannot unmarshal ${jsonType(v)} into Go struct field ${parent}.${path} of type ${goType}`;
}

export function check(v: unknown, shape: Shape, path: string, parent: string, out: DecodeProblems): void {
  if (v === null || v === undefined) return;
  if (shape === 'any') return;
  if (shape === 'string' || shape === 'duration') {
    if (typeof v !== 'string') {
      // sigs.k8s.io/yaml turns YAML scalars into JSON first; numbers in a string field fail there.
      if (typeof v === 'number' || typeof v === 'boolean')
        out.fatal.push(typeError(path, v, 'string', parent));
      else out.fatal.push(typeError(path, v, 'string', parent));
      return;
    }
    if (shape === 'duration' && !/^(-?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+|0)$/.test(v)) {
      out.fatal.push(`time: invalid duration "${v}"`);
    }
    return;
  }
  if (shape === 'bool') {
    if (typeof v !== 'boolean') out.fatal.push(typeError(path, v, 'bool', parent));
    return;
  }
  if (shape === 'int') {
    if (typeof v !== 'number' || !Number.isInteger(v)) out.fatal.push(typeError(path, v, 'int32', parent));
    return;
  }
  if ('obj' in shape) {
    if (jsonType(v) !== 'object') {
      out.fatal.push(typeError(path, v, shape.goType, parent));
      return;
    }
    for (const [k, child] of Object.entries(v as Record<string, unknown>)) {
      const p = path ? `${path}.${k}` : k;
      const s = shape.obj[k];
      if (!s) out.unknown.push(p);
      else check(child, s, p, parent, out);
    }
    return;
  }
  if ('list' in shape) {
    if (!Array.isArray(v)) {
      out.fatal.push(typeError(path, v, shape.goType, parent));
      return;
    }
    v.forEach((item, i) => {
      check(item, shape.list, `${path}[${i}]`, parent, out);
    });
    return;
  }
  if (jsonType(v) !== 'object') {
    out.fatal.push(typeError(path, v, shape.goType, parent));
    return;
  }
  for (const [k, child] of Object.entries(v as Record<string, unknown>))
    check(child, shape.map, `${path}.${k}`, parent, out);
}

const typeMeta = { apiVersion: 'string', kind: 'string' } as const;
const taint = obj('v1.Taint', { key: 'string', value: 'string', effect: 'string', timeAdded: 'string' });
const bootstrapToken = obj('v1.BootstrapToken', {
  token: 'string',
  description: 'string',
  ttl: 'duration',
  expires: 'string',
  usages: strings,
  groups: strings,
});
const apiEndpoint = obj('APIEndpoint', { advertiseAddress: 'string', bindPort: 'int' });
const patches = obj('Patches', { directory: 'string' });
const hostPathMount = obj('HostPathMount', {
  name: 'string',
  hostPath: 'string',
  mountPath: 'string',
  readOnly: 'bool',
  pathType: 'string',
});
const envVar = obj('EnvVar', { name: 'string', value: 'string', valueFrom: 'any' });

function kubeadmShapes(api: 'v1beta3' | 'v1beta4'): Record<string, Shape> {
  const b4 = api === 'v1beta4';
  const extraArgs: Shape = b4
    ? list(`[]${api}.Arg`, obj('Arg', { name: 'string', value: 'string' }))
    : map('map[string]string');
  const component: Record<string, Shape> = {
    extraArgs,
    extraVolumes: list(`[]${api}.HostPathMount`, hostPathMount),
    ...(b4 ? { extraEnvs: list(`[]${api}.EnvVar`, envVar) } : {}),
  };
  const nodeRegistration = obj('NodeRegistrationOptions', {
    name: 'string',
    criSocket: 'string',
    taints: list('[]v1.Taint', taint),
    kubeletExtraArgs: b4 ? extraArgs : map('map[string]string'),
    ignorePreflightErrors: strings,
    imagePullPolicy: 'string',
    ...(b4 ? { imagePullSerial: 'bool' as const } : {}),
  });
  const imageMeta = { imageRepository: 'string', imageTag: 'string' } as const;
  const timeouts = obj('Timeouts', {
    controlPlaneComponentHealthCheck: 'duration',
    kubeletHealthCheck: 'duration',
    kubernetesAPICall: 'duration',
    etcdAPICall: 'duration',
    tlsBootstrap: 'duration',
    discovery: 'duration',
    upgradeManifests: 'duration',
  });
  const discovery = obj('Discovery', {
    bootstrapToken: obj('BootstrapTokenDiscovery', {
      token: 'string',
      apiServerEndpoint: 'string',
      caCertHashes: strings,
      unsafeSkipCAVerification: 'bool',
    }),
    file: obj('FileDiscovery', { kubeConfigPath: 'string' }),
    tlsBootstrapToken: 'string',
    ...(b4 ? {} : { timeout: 'duration' as const }),
  });
  const shapes: Record<string, Shape> = {
    InitConfiguration: obj('InitConfiguration', {
      ...typeMeta,
      bootstrapTokens: list('[]v1.BootstrapToken', bootstrapToken),
      nodeRegistration,
      localAPIEndpoint: apiEndpoint,
      certificateKey: 'string',
      skipPhases: strings,
      patches,
      ...(b4 ? { dryRun: 'bool' as const, timeouts } : {}),
    }),
    ClusterConfiguration: obj('ClusterConfiguration', {
      ...typeMeta,
      etcd: obj('Etcd', {
        local: obj('LocalEtcd', {
          ...imageMeta,
          dataDir: 'string',
          extraArgs,
          ...(b4 ? { extraEnvs: list(`[]${api}.EnvVar`, envVar) } : {}),
          serverCertSANs: strings,
          peerCertSANs: strings,
        }),
        external: obj('ExternalEtcd', {
          endpoints: strings,
          caFile: 'string',
          certFile: 'string',
          keyFile: 'string',
        }),
      }),
      networking: obj('Networking', { serviceSubnet: 'string', podSubnet: 'string', dnsDomain: 'string' }),
      kubernetesVersion: 'string',
      controlPlaneEndpoint: 'string',
      apiServer: obj('APIServer', {
        ...component,
        certSANs: strings,
        ...(b4 ? {} : { timeoutForControlPlane: 'duration' as const }),
      }),
      controllerManager: obj('ControlPlaneComponent', component),
      scheduler: obj('ControlPlaneComponent', component),
      dns: obj('DNS', { ...imageMeta, ...(b4 ? { disabled: 'bool' as const } : {}) }),
      certificatesDir: 'string',
      imageRepository: 'string',
      featureGates: map('map[string]bool', 'bool'),
      clusterName: 'string',
      ...(b4
        ? {
            proxy: obj('Proxy', { disabled: 'bool' }),
            encryptionAlgorithm: 'string' as const,
            certificateValidityPeriod: 'duration' as const,
            caCertificateValidityPeriod: 'duration' as const,
          }
        : {}),
    }),
    JoinConfiguration: obj('JoinConfiguration', {
      ...typeMeta,
      nodeRegistration,
      caCertPath: 'string',
      discovery,
      controlPlane: obj('JoinControlPlane', { localAPIEndpoint: apiEndpoint, certificateKey: 'string' }),
      skipPhases: strings,
      patches,
      ...(b4 ? { dryRun: 'bool' as const, timeouts } : {}),
    }),
  };
  if (b4) {
    shapes.ResetConfiguration = obj('ResetConfiguration', {
      ...typeMeta,
      cleanupTmpDir: 'bool',
      certificatesDir: 'string',
      criSocket: 'string',
      dryRun: 'bool',
      force: 'bool',
      ignorePreflightErrors: strings,
      skipPhases: strings,
      unmountFlags: strings,
      timeouts,
    });
    const common = {
      dryRun: 'bool',
      ignorePreflightErrors: strings,
      imagePullPolicy: 'string',
      imagePullSerial: 'bool',
    } as const;
    shapes.UpgradeConfiguration = obj('UpgradeConfiguration', {
      ...typeMeta,
      apply: obj('UpgradeApplyConfiguration', {
        ...common,
        kubernetesVersion: 'string',
        allowExperimentalUpgrades: 'bool',
        allowRCUpgrades: 'bool',
        certificateRenewal: 'bool',
        etcdUpgrade: 'bool',
        forceUpgrade: 'bool',
        patches,
        printConfig: 'bool',
        skipPhases: strings,
      }),
      diff: obj('UpgradeDiffConfiguration', { kubernetesVersion: 'string', contextLines: 'int' }),
      node: obj('UpgradeNodeConfiguration', {
        ...common,
        certificateRenewal: 'bool',
        etcdUpgrade: 'bool',
        skipPhases: strings,
        patches,
      }),
      plan: obj('UpgradePlanConfiguration', {
        kubernetesVersion: 'string',
        allowExperimentalUpgrades: 'bool',
        allowRCUpgrades: 'bool',
        dryRun: 'bool',
        ignorePreflightErrors: strings,
        printConfig: 'bool',
      }),
      timeouts,
    });
  }
  return shapes;
}

const anyObj = (goType: string): Shape => ({ map: 'any', goType });

export const KUBELET_CONFIGURATION: Shape = obj('KubeletConfiguration', {
  ...typeMeta,
  enableServer: 'bool',
  staticPodPath: 'string',
  podLogsDir: 'string',
  syncFrequency: 'duration',
  fileCheckFrequency: 'duration',
  httpCheckFrequency: 'duration',
  staticPodURL: 'string',
  staticPodURLHeader: map('map[string][]string', strings),
  address: 'string',
  port: 'int',
  readOnlyPort: 'int',
  tlsCertFile: 'string',
  tlsPrivateKeyFile: 'string',
  tlsCipherSuites: strings,
  tlsMinVersion: 'string',
  rotateCertificates: 'bool',
  serverTLSBootstrap: 'bool',
  authentication: obj('KubeletAuthentication', {
    x509: obj('KubeletX509Authentication', { clientCAFile: 'string' }),
    webhook: obj('KubeletWebhookAuthentication', { enabled: 'bool', cacheTTL: 'duration' }),
    anonymous: obj('KubeletAnonymousAuthentication', { enabled: 'bool' }),
  }),
  authorization: obj('KubeletAuthorization', {
    mode: 'string',
    webhook: obj('KubeletWebhookAuthorization', {
      cacheAuthorizedTTL: 'duration',
      cacheUnauthorizedTTL: 'duration',
    }),
  }),
  registryPullQPS: 'int',
  registryBurst: 'int',
  eventRecordQPS: 'int',
  eventBurst: 'int',
  enableDebuggingHandlers: 'bool',
  enableContentionProfiling: 'bool',
  healthzPort: 'int',
  healthzBindAddress: 'string',
  oomScoreAdj: 'int',
  clusterDomain: 'string',
  clusterDNS: strings,
  streamingConnectionIdleTimeout: 'duration',
  nodeStatusUpdateFrequency: 'duration',
  nodeStatusReportFrequency: 'duration',
  nodeLeaseDurationSeconds: 'int',
  imageMinimumGCAge: 'duration',
  imageMaximumGCAge: 'duration',
  imageGCHighThresholdPercent: 'int',
  imageGCLowThresholdPercent: 'int',
  volumeStatsAggPeriod: 'duration',
  kubeletCgroups: 'string',
  systemCgroups: 'string',
  cgroupRoot: 'string',
  cgroupsPerQOS: 'bool',
  cgroupDriver: 'string',
  cpuManagerPolicy: 'string',
  cpuManagerPolicyOptions: map('map[string]string'),
  cpuManagerReconcilePeriod: 'duration',
  memoryManagerPolicy: 'string',
  topologyManagerPolicy: 'string',
  topologyManagerScope: 'string',
  topologyManagerPolicyOptions: map('map[string]string'),
  qosReserved: map('map[string]string'),
  runtimeRequestTimeout: 'duration',
  hairpinMode: 'string',
  maxPods: 'int',
  podCIDR: 'string',
  podPidsLimit: 'int',
  resolvConf: 'string',
  runOnce: 'bool',
  cpuCFSQuota: 'bool',
  cpuCFSQuotaPeriod: 'duration',
  nodeStatusMaxImages: 'int',
  maxOpenFiles: 'int',
  contentType: 'string',
  kubeAPIQPS: 'int',
  kubeAPIBurst: 'int',
  serializeImagePulls: 'bool',
  maxParallelImagePulls: 'int',
  evictionHard: map('map[string]string'),
  evictionSoft: map('map[string]string'),
  evictionSoftGracePeriod: map('map[string]string'),
  evictionPressureTransitionPeriod: 'duration',
  evictionMaxPodGracePeriod: 'int',
  evictionMinimumReclaim: map('map[string]string'),
  podsPerCore: 'int',
  enableControllerAttachDetach: 'bool',
  protectKernelDefaults: 'bool',
  makeIPTablesUtilChains: 'bool',
  iptablesMasqueradeBit: 'int',
  iptablesDropBit: 'int',
  featureGates: map('map[string]bool', 'bool'),
  failSwapOn: 'bool',
  memorySwap: obj('MemorySwapConfiguration', { swapBehavior: 'string' }),
  containerLogMaxSize: 'string',
  containerLogMaxFiles: 'int',
  containerLogMaxWorkers: 'int',
  containerLogMonitorInterval: 'duration',
  configMapAndSecretChangeDetectionStrategy: 'string',
  systemReserved: map('map[string]string'),
  kubeReserved: map('map[string]string'),
  reservedSystemCPUs: 'string',
  showHiddenMetricsForVersion: 'string',
  systemReservedCgroup: 'string',
  kubeReservedCgroup: 'string',
  enforceNodeAllocatable: strings,
  allowedUnsafeSysctls: strings,
  volumePluginDir: 'string',
  providerID: 'string',
  kernelMemcgNotification: 'bool',
  logging: anyObj('LoggingConfiguration'),
  enableSystemLogHandler: 'bool',
  enableSystemLogQuery: 'bool',
  shutdownGracePeriod: 'duration',
  shutdownGracePeriodCriticalPods: 'duration',
  shutdownGracePeriodByPodPriority: list(
    '[]ShutdownGracePeriodByPodPriority',
    anyObj('ShutdownGracePeriodByPodPriority'),
  ),
  crashLoopBackOff: obj('CrashLoopBackOffConfig', { maxContainerRestartPeriod: 'duration' }),
  reservedMemory: list('[]MemoryReservation', anyObj('MemoryReservation')),
  enableProfilingHandler: 'bool',
  enableDebugFlagsHandler: 'bool',
  seccompDefault: 'bool',
  memoryThrottlingFactor: 'any',
  registerWithTaints: list('[]v1.Taint', taint),
  registerNode: 'bool',
  tracing: anyObj('TracingConfiguration'),
  localStorageCapacityIsolation: 'bool',
  containerRuntimeEndpoint: 'string',
  imageServiceEndpoint: 'string',
  failCgroupV1: 'bool',
  singleProcessOOMKill: 'bool',
  userNamespaces: obj('UserNamespaces', { idsPerPod: 'int' }),
  imagePullCredentialsVerificationPolicy: 'string',
  preloadedImagesVerificationAllowlist: strings,
  mergeDefaultEvictionSettings: 'bool',
});

export const KUBE_PROXY_CONFIGURATION: Shape = obj('KubeProxyConfiguration', {
  ...typeMeta,
  featureGates: map('map[string]bool', 'bool'),
  clientConnection: obj('ClientConnectionConfiguration', {
    kubeconfig: 'string',
    acceptContentTypes: 'string',
    contentType: 'string',
    qps: 'any',
    burst: 'int',
  }),
  hostnameOverride: 'string',
  bindAddress: 'string',
  healthzBindAddress: 'string',
  metricsBindAddress: 'string',
  bindAddressHardFail: 'bool',
  enableProfiling: 'bool',
  showHiddenMetricsForVersion: 'string',
  mode: 'string',
  iptables: obj('KubeProxyIPTablesConfiguration', {
    masqueradeBit: 'int',
    masqueradeAll: 'bool',
    localhostNodePorts: 'bool',
    syncPeriod: 'duration',
    minSyncPeriod: 'duration',
  }),
  ipvs: obj('KubeProxyIPVSConfiguration', {
    syncPeriod: 'duration',
    minSyncPeriod: 'duration',
    scheduler: 'string',
    excludeCIDRs: strings,
    strictARP: 'bool',
    tcpTimeout: 'duration',
    tcpFinTimeout: 'duration',
    udpTimeout: 'duration',
  }),
  nftables: obj('KubeProxyNFTablesConfiguration', {
    masqueradeBit: 'int',
    masqueradeAll: 'bool',
    syncPeriod: 'duration',
    minSyncPeriod: 'duration',
  }),
  winkernel: anyObj('KubeProxyWinkernelConfiguration'),
  detectLocalMode: 'string',
  detectLocal: obj('DetectLocalConfiguration', {
    bridgeInterface: 'string',
    clusterCIDRs: strings,
    interfaceNamePrefix: 'string',
  }),
  clusterCIDR: 'string',
  nodePortAddresses: strings,
  oomScoreAdj: 'int',
  conntrack: obj('KubeProxyConntrackConfiguration', {
    maxPerCore: 'int',
    min: 'int',
    tcpEstablishedTimeout: 'duration',
    tcpCloseWaitTimeout: 'duration',
    tcpBeLiberal: 'bool',
    udpTimeout: 'duration',
    udpStreamTimeout: 'duration',
  }),
  configSyncPeriod: 'duration',
  portRange: 'string',
  logging: anyObj('LoggingConfiguration'),
  windowsRunAsService: 'bool',
});

export function kubeadmShape(api: string, kind: string): Shape | undefined {
  if (api !== 'v1beta3' && api !== 'v1beta4') return undefined;
  return kubeadmShapes(api)[kind];
}
