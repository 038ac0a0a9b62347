/**
 * The rendered node scripts on a real system host (systemd, the Debian rootfs, no package mirror)
 * with the strict stand-ins as containerd/kubelet/kubeadm: OS preparation, runtime and Kubernetes
 * install work, a second run finds every step done, and destroy leaves the file system as it was.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostExec, type Lab, labDown, labUp } from '../../lab/api.js';
import { buildMirrorTree } from '../../lab/mirror/build.js';
import { cniPath, containerdPath, crictlPath, kubePath, runcPath } from '../../lab/mirror/layout.js';
import { executables } from '../../lab/standins/executables.js';
import { testLabId } from '../../lab/support/test-id.js';
import { shq } from '../../src/core/quote.js';
import type { Script } from '../../src/fleet/script.js';
import { destroyScript, hostsBlockScript, nodeScripts, type RenderInput } from '../../src/render/index.js';
import { runtimeBundleNames } from '../../src/render/runtime.js';
import { inputFor } from './fixtures.js';

const ID = testLabId('t-render-node');
const CASE = '1.31';
let lab: Lab;
let host: string;
let input: RenderInput;

const sh = (text: string, stdin?: string) =>
  hostExec(lab, host, ['bash', '-c', text], stdin === undefined ? {} : { input: stdin });

/** As the fleet runs a script: uploaded, then `bash -euo pipefail FILE`. */
async function runScript(s: Script): Promise<{ code: number; out: string }> {
  const put = await sh('cat > /tmp/step.sh', s.text);
  expect(put.code).toBe(0);
  const r = await hostExec(lab, host, ['bash', '-euo', 'pipefail', '/tmp/step.sh']);
  return { code: r.code, out: `${r.stdout}${r.stderr}` };
}

/** Every path under the directories create writes to, and the files it edits in place. */
async function snapshot(): Promise<string> {
  const r = await sh(
    'find /etc /usr /opt /var/lib /run/containerd -xdev \\( -path /var/lib/systemd -o -path /var/lib/apt -o -path /var/lib/dpkg -o -path /etc/ssh \\) -prune -o -print 2>/dev/null | sort; md5sum /etc/hosts /etc/fstab',
  );
  return r.stdout;
}

beforeAll(async () => {
  lab = await labUp({ id: ID, system: 1 });
  host = lab.hosts[0]!.name;
  const base = inputFor(CASE, 'debian', 'w1');
  // The lab host is the worker: its own name (so the hostname stays) and address.
  const ip = lab.hosts[0]!.ip;
  input = {
    ...base,
    host: {
      ...base.host,
      node: { ...base.host.node, name: host, ip },
      facts: { ...base.host.facts, hostname: host },
    },
  };
  const v = input.components.versions;
  const tree = mkdtempSync(join(tmpdir(), 'kubeon-render-mirror-'));
  await buildMirrorTree(
    tree,
    {
      arches: ['amd64'],
      kubernetes: [input.version],
      containerd: [v.containerd],
      runc: [v.runc],
      crictl: [v.crictl],
      cni: [v.cni],
    },
    { executables, producerId: 'standins' },
  );
  const names = runtimeBundleNames(input);
  const bundle: [string, string][] = [
    [names.containerd, containerdPath(v.containerd, 'amd64')],
    [names.runc, runcPath(v.runc, 'amd64')],
    [names.crictl, crictlPath(v.crictl, 'amd64')],
    [names.cni, cniPath(v.cni, 'amd64')],
    ['kubeadm', kubePath(input.version, 'amd64', 'kubeadm')],
    ['kubelet', kubePath(input.version, 'amd64', 'kubelet')],
  ];
  // The lab's rootfs has every package OS preparation wants; remove one so the test sees an absent
  // package reported (the sealed lab has no package mirror to install it from) without failing.
  const hide = await sh('DEBIAN_FRONTEND=noninteractive dpkg --purge --force-depends ipset');
  expect(hide.code, hide.stderr).toBe(0);
  const before = await snapshot();
  for (const [name, urlPath] of bundle) {
    const data = readFileSync(join(tree, urlPath)).toString('base64');
    const dir = shq(input.components.bundleDir);
    const r = await sh(`mkdir -p ${dir} && base64 -d > ${dir}/${shq(name)}`, data);
    expect(r.code, r.stderr).toBe(0);
  }
  baseline = before;
}, 600_000);

let baseline = '';

afterAll(async () => {
  await labDown(ID);
});

describe('node scripts on a lab system host', () => {
  it('prepare the OS, install the runtime and Kubernetes, and report absent packages without failing', async () => {
    for (const { name, script } of nodeScripts(input)) {
      const r = await runScript(script);
      expect(r.code, `${name}: ${r.out}`).toBe(0);
      if (name === 'os') expect(r.out).toMatch(/kubeon: warning: packages not installed: ipset/);
    }
    expect((await sh('systemctl is-active containerd')).stdout.trim()).toBe('active');
    expect((await sh('systemctl is-enabled kubelet')).stdout.trim()).toBe('enabled');
    expect((await sh('cat /etc/kubeon/cluster')).stdout).toBe('prod\n');
    expect((await sh('sysctl -n net.ipv4.ip_forward')).stdout.trim()).toBe('1');
    const hosts = await runScript(
      hostsBlockScript('prod', [{ ip: input.masters[0]!.ip, names: ['apiserver.cluster.local'] }]),
    );
    expect(hosts.code, hosts.out).toBe(0);
  });

  it('finds every step done on a second run', async () => {
    for (const { name, script } of nodeScripts(input)) {
      const r = await runScript(script);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toBe(`${name}: already done\n`);
    }
  });

  it('destroy leaves the file system as it was before create', async () => {
    const r = await runScript(destroyScript(input));
    expect(r.code, r.out).toBe(0);
    await sh('rm -f /tmp/step.sh');
    expect(await snapshot()).toBe(baseline);
  });
});
