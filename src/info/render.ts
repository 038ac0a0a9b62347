import pc from 'picocolors';
import { renderTable } from '../cli/table.js';
import { formatBytes } from '../etcd/report.js';
import { formatResidual } from '../pki/inventory.js';
import type { InfoReport } from './summary.js';

/** The one screen of `kubeon info`: pure text from the report; colour only when asked for. */

export function formatAge(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 2 * 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 2 * 86400) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86400)}d`;
}

export function renderInfo(r: InfoReport, color: boolean): string {
  const p = pc.createColors(color);
  const good = (ok: boolean, text: string) => (ok ? p.green(text) : p.red(text));
  const out: string[] = [];
  const head = (t: string) => out.push('', p.bold(t));

  const api = r.cluster.api.error
    ? p.red(`unreachable: ${r.cluster.api.error}`)
    : `${r.cluster.api.server} (${r.cluster.api.via})`;
  out.push(`${p.bold('cluster')}   ${r.cluster.name}   ${r.cluster.version ?? p.red('version unknown')}`);
  out.push(`${p.bold('endpoint')}  ${r.cluster.endpoint}   mode ${r.ha.mode}   API ${api}`);
  const cert = r.certificates.earliest;
  out.push(
    `${p.bold('certs')}     ${
      cert
        ? `earliest expiry ${cert.notAfter.slice(0, 10)} (${formatResidual(cert.residualSeconds)}, ${cert.where} ${cert.name})`
        : p.yellow(r.certificates.error ?? 'none found on this machine')
    }`,
  );
  if (r.lastOperation) {
    const s = r.lastOperation.step;
    out.push(
      `${p.bold('last op')}   ${r.lastOperation.status} at ${r.lastOperation.updatedAt}${
        s ? `; last step ${s.phase}${s.node ? ` on ${s.node}` : ''}: ${s.status}` : ''
      }`,
    );
  }

  head(`nodes (${r.nodes.length})`);
  if (r.nodes.length)
    out.push(
      renderTable(r.nodes, [
        { header: 'NAME', value: (n) => n.name },
        { header: 'ROLE', value: (n) => n.role },
        { header: 'IP', value: (n) => n.ip },
        { header: 'STATUS', value: (n) => good(n.status === 'Ready', n.status) },
        { header: 'KUBELET', value: (n) => n.kubeletVersion },
        { header: 'RUNTIME', value: (n) => n.runtime },
        { header: 'OS', value: (n) => n.os },
        { header: 'AGE', value: (n) => formatAge(n.ageSeconds) },
      ]),
    );

  const problems = Object.entries(r.pods.notRunning);
  const count = problems.reduce((n, [, l]) => n + l.length, 0);
  head(`pods not running (${count} of ${r.pods.total})`);
  for (const [ns, list] of problems) {
    out.push(`  ${ns}`);
    for (const pod of list)
      out.push(`    ${p.red(pod.name)}  ${pod.phase}  ${pod.reason}${pod.node ? `  on ${pod.node}` : ''}`);
  }

  head('control plane');
  for (const [node, pods] of Object.entries(r.controlPlane))
    out.push(
      `  ${node}  ${pods.map((c) => good(c.ready, `${c.component}${c.ready ? '' : `(${c.phase})`}`)).join('  ')}`,
    );

  head('etcd');
  if (r.etcd.error) out.push(`  ${p.red(r.etcd.error)}`);
  else
    out.push(
      renderTable(r.etcd.members, [
        { header: 'MEMBER', value: (m) => m.name },
        { header: 'ID', value: (m) => m.id },
        { header: 'HEALTH', value: (m) => good(m.healthy, m.healthy ? 'healthy' : (m.error ?? 'unhealthy')) },
        { header: 'LEADER', value: (m) => (m.leader ? 'leader' : '') },
        { header: 'DB SIZE', value: (m) => formatBytes(m.dbSize) },
        { header: 'VERSION', value: (m) => m.version },
      ]),
    );

  head(`HA (${r.ha.mode}) per worker`);
  if (r.ha.error) out.push(`  ${p.red(r.ha.error)}`);
  else if (!r.ha.workers?.length) out.push(`  ${p.dim('no workers')}`);
  else
    for (const w of r.ha.workers)
      out.push(`  ${w.node}  ${good(w.healthy, w.healthy ? 'ok' : 'failing')}  ${w.detail}`);
  return `${out.join('\n').replace(/^\n/, '')}\n`;
}
