import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { MasterAddress, RenderInput } from './inputs.js';

/**
 * The haproxy HA mode's node files: a TCP proxy on 127.0.0.1:<endpoint port> in front of every
 * master's API server, run as a static pod from the official haproxy image with kubeon's config
 * mounted from the host. A master leaves the pool after two failed /readyz checks a second apart.
 */

export const HAPROXY_DIR = '/etc/kubeon/haproxy';
export const HAPROXY_CONFIG = `${HAPROXY_DIR}/haproxy.cfg`;
export const HAPROXY_MANIFEST = '/etc/kubernetes/manifests/local-haproxy.yaml';
/** The pod's probe endpoint; a port no Kubernetes component uses. */
export const HAPROXY_HEALTH_PORT = 8404;
/** haproxy's stats page on the same loopback port; `;csv` appended gives one line per server. */
export const HAPROXY_STATS_PATH = '/stats';
/** Where the official image looks for its configuration. */
const CONTAINER_CONFIG_DIR = '/usr/local/etc/haproxy';
/** The port the API servers listen on (kubeadm's localAPIEndpoint.bindPort). */
const APISERVER_PORT = 6443;

function hostPort(ip: string, port: number): string {
  return `${ip.includes(':') ? `[${ip}]` : ip}:${port}`;
}

export function haproxyConfig(input: Pick<RenderInput, 'spec' | 'masters'>): string {
  const masters: readonly MasterAddress[] = input.masters;
  if (masters.length === 0) throw new Error('haproxy needs at least one master');
  const servers = masters.map(
    (m) => `  server ${m.name} ${hostPort(m.ip, APISERVER_PORT)} check check-ssl verify none`,
  );
  return `# Written by kubeon for cluster ${input.spec.name}: the masters' API servers behind 127.0.0.1.
# No maxconn: haproxy sizes it from the file-descriptor limit it finds, which differs by runtime.
global
  log stdout format raw local0 warning

defaults
  mode tcp
  log global
  option dontlognull
  # A connection refused by a master that is not yet marked down is retried on another one.
  option redispatch
  retries 2
  timeout connect 5s
  # Watches and exec sessions stay open for a long time.
  timeout client 1h
  timeout server 1h
  timeout check 2s

frontend health
  mode http
  bind 127.0.0.1:${HAPROXY_HEALTH_PORT}
  monitor-uri /healthz
  # Read-only server states on loopback, for kubeon info (/stats;csv).
  stats enable
  stats uri ${HAPROXY_STATS_PATH}

frontend kube-apiserver
  bind 127.0.0.1:${input.spec.controlPlane.port}
  default_backend kube-apiserver

backend kube-apiserver
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
${servers.join('\n')}
`;
}

/** Static pod kube-system/local-haproxy-<node>; the config hash makes the kubelet restart it on a change. */
export function haproxyManifest(input: Pick<RenderInput, 'spec' | 'masters' | 'components'>): string {
  const config = haproxyConfig(input);
  const probe = (period: number) => ({
    httpGet: { host: '127.0.0.1', port: HAPROXY_HEALTH_PORT, path: '/healthz' },
    periodSeconds: period,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'local-haproxy',
      namespace: 'kube-system',
      labels: { 'app.kubernetes.io/name': 'local-haproxy', 'app.kubernetes.io/managed-by': 'kubeon' },
      annotations: {
        'kubeon.io/config-hash': createHash('sha256').update(config).digest('hex'),
      },
    },
    spec: {
      // Serves the API endpoint before any pod network exists.
      hostNetwork: true,
      priorityClassName: 'system-node-critical',
      containers: [
        {
          name: 'haproxy',
          image: input.components.haproxyImage,
          imagePullPolicy: 'IfNotPresent',
          // What the image's entrypoint runs for its default CMD, spelled out so nothing depends on
          // the image's entrypoint script: master-worker mode, in the foreground.
          command: ['haproxy', '-W', '-db', '-f', `${CONTAINER_CONFIG_DIR}/haproxy.cfg`],
          livenessProbe: { ...probe(10), initialDelaySeconds: 5 },
          readinessProbe: probe(5),
          resources: { requests: { cpu: '25m', memory: '32Mi' } },
          volumeMounts: [{ name: 'config', mountPath: CONTAINER_CONFIG_DIR, readOnly: true }],
        },
      ],
      volumes: [{ name: 'config', hostPath: { path: HAPROXY_DIR, type: 'Directory' } }],
    },
  };
  return stringify(pod, { version: '1.1' });
}
