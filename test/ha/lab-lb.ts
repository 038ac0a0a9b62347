import { hostExec, type Lab, type LabHost } from '../../lab/api.js';

/**
 * The user's load balancer for external mode in the lab: Debian's haproxy on a light host, with its
 * own config (not kubeon's), TCP on PORT in front of the masters' 6443 with /readyz checks. Starting
 * it again replaces the running one.
 */
export function lbConfig(lb: LabHost, port: number, masters: readonly LabHost[]): string {
  return `global
  pidfile /tmp/lb.pid
defaults
  mode tcp
  timeout connect 3s
  timeout client 1h
  timeout server 1h
  timeout check 2s
frontend lb
  bind ${lb.ip}:${port}
  default_backend masters
backend masters
  balance roundrobin
  option httpchk GET /readyz
  http-check expect status 200
  default-server inter 1s fall 2 rise 2
${masters.map((h, i) => `  server m${i + 1} ${h.ip}:6443 check check-ssl verify none`).join('\n')}
`;
}

export async function startLb(
  lab: Lab,
  lb: LabHost,
  port: number,
  masters: readonly LabHost[],
): Promise<void> {
  const r = await hostExec(
    lab,
    lb.name,
    [
      'bash',
      '-c',
      'if [ -f /tmp/lb.pid ]; then kill "$(cat /tmp/lb.pid)"; sleep 0.5; fi; cat > /tmp/lb.cfg && haproxy -D -f /tmp/lb.cfg',
    ],
    { input: lbConfig(lb, port, masters) },
  );
  if (r.code !== 0) throw new Error(`the lab load balancer did not start: ${r.stderr}`);
}

/**
 * A bash loop for a worker: one request every 100 ms for SECONDS through URL, verified against the
 * cluster CA, printing `<epoch ms> <http code>` per request.
 */
export function requestLoop(url: string, seconds: number): string[] {
  return [
    'bash',
    '-c',
    `end=$((SECONDS + ${seconds})); while ((SECONDS < end)); do t=$(date +%s%3N); c=$(curl -s -o /dev/null -w "%{http_code}" --max-time 2 --cacert /etc/kubernetes/pki/ca.crt "${url}"); echo "$t $c"; sleep 0.1; done`,
  ];
}

export function parseLoop(out: string): { t: number; ok: boolean }[] {
  return out
    .trim()
    .split('\n')
    .map((l) => l.split(' '))
    .map(([t, c]) => ({ t: Number(t), ok: c === '200' }));
}
