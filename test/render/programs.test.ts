import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { standinExecutable } from '../../lab/standins/index.js';
import { loadConfigText } from '../../lab/standins/lib/config.js';
import { parseContainerdConfig } from '../../lab/standins/lib/containerd-config.js';
import { raw, script } from '../../src/fleet/script.js';
import { putFiles } from '../../src/render/files.js';
import {
  destroyScript,
  haproxyConfig,
  hostsBlockScript,
  hostsRemoveScript,
  kubeadmInitConfig,
  kubeadmJoinConfig,
  nodeScripts,
} from '../../src/render/index.js';
import { KUBEADM_DROPIN_PATH, KUBELET_UNIT_PATH, kubeletFiles } from '../../src/render/kubelet.js';
import { CONTAINERD_UNIT, CONTAINERD_UNIT_PATH, containerdConfig } from '../../src/render/runtime.js';
import { CASE_NAMES, FAMILIES, inputFor, SECRETS } from './fixtures.js';

/** The real programs the rendered files meet on a node: bash, shellcheck, systemd, containerd, haproxy, kubeadm's decoder. */

function run(cmd: string, args: string[], input?: string) {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

const tmp = mkdtempSync(join(tmpdir(), 'kubeon-render-'));

function allScripts() {
  const out: { name: string; text: string }[] = [];
  for (const c of CASE_NAMES) {
    for (const family of FAMILIES) {
      for (const node of ['m1', 'w1']) {
        for (const s of nodeScripts(inputFor(c, family, node))) {
          out.push({ name: `${c}/${family}/${node}/${s.name}`, text: s.script.text });
        }
      }
    }
  }
  out.push({ name: 'destroy', text: destroyScript(inputFor('1.37', 'rhel', 'm1')).text });
  out.push({ name: 'hosts-set', text: hostsBlockScript('prod', [{ ip: '10.77.0.11', names: ['a'] }]).text });
  out.push({ name: 'hosts-remove', text: hostsRemoveScript('prod').text });
  return out;
}

describe('scripts', () => {
  it('parse with bash -n and pass shellcheck (warnings and errors)', () => {
    const scripts = allScripts();
    expect(scripts.length).toBeGreaterThan(30);
    const dir = join(tmp, 'scripts');
    const files = scripts.map((s) => {
      const f = join(dir, `${s.name.replaceAll('/', '_')}.sh`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(f, s.text);
      expect(run('bash', ['-n', f]), s.name).toEqual({ code: 0, out: '' });
      return f;
    });
    // One run for all files: shellcheck's start-up dominates on a small script.
    expect(run('shellcheck', ['-s', 'bash', '-S', 'warning', ...files])).toEqual({ code: 0, out: '' });
  }, 120_000);

  it('shellcheck does flag a broken script (the check above can fail)', () => {
    expect(run('shellcheck', ['-s', 'bash', '-S', 'warning', '-'], 'x=1\nrm -rf $y/\n').code).not.toBe(0);
  });

  it('put writes a file atomically, keeps an identical one and reports a change', () => {
    const dir = join(tmp, 'put');
    const target = join(dir, 'sub', 'a.conf');
    const body = (content: string) =>
      script(
        'put',
        ...putFiles([{ path: target, mode: 0o640, content }], { track: true }),
        raw('echo "changed=$changed"'),
      ).text;
    expect(run('bash', ['-euo', 'pipefail', '-c', body("it's\n$HOME `x`\n")]).out).toBe('changed=1\n');
    expect(readFileSync(target, 'utf8')).toBe("it's\n$HOME `x`\n");
    expect(run('stat', ['-c', '%a', target]).out.trim()).toBe('640');
    expect(run('bash', ['-euo', 'pipefail', '-c', body("it's\n$HOME `x`\n")]).out).toBe('changed=0\n');
    expect(run('ls', ['-a', dirname(target)]).out).not.toMatch(/kubeon-tmp/);
  });
});

describe('/etc/hosts block', () => {
  const file = join(tmp, 'hosts');
  const user =
    '127.0.0.1 localhost\n# BEGIN kubeon other\n10.0.0.9 apiserver.cluster.local\n# END kubeon other\n192.168.1.5 nas\n';
  const sh = (text: string) => run('bash', ['-euo', 'pipefail', '-c', text]);

  it('adds, replaces and removes exactly this cluster block, leaving every other line alone', () => {
    writeFileSync(file, user);
    const set = (ip: string) =>
      hostsBlockScript('prod', [{ ip, names: ['apiserver.cluster.local'] }], file).text;
    expect(sh(set('10.77.0.11')).code).toBe(0);
    const block = (ip: string) => `# BEGIN kubeon prod\n${ip} apiserver.cluster.local\n# END kubeon prod\n`;
    expect(readFileSync(file, 'utf8')).toBe(user + block('10.77.0.11'));
    expect(sh(set('10.77.0.11')).out).toBe('hosts: already up to date\n');
    expect(sh(set('10.77.0.12')).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(user + block('10.77.0.12'));
    expect(sh(hostsRemoveScript('prod', file).text).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(user);
  });

  it('does not treat a cluster name as a pattern', () => {
    const other = '# BEGIN kubeon aXb\n1.1.1.1 x\n# END kubeon aXb\n';
    writeFileSync(file, other);
    expect(sh(hostsRemoveScript('a.b', file).text).code).toBe(0);
    expect(readFileSync(file, 'utf8')).toBe(other);
  });
});

describe('systemd units', () => {
  // verify checks ExecStart binaries and dependencies against a root: a copy of this machine's unit
  // directory plus stub executables where the node would have the real ones.
  const root = join(tmp, 'root');
  mkdirSync(join(root, 'usr/lib/systemd'), { recursive: true });
  cpSync('/usr/lib/systemd/system', join(root, 'usr/lib/systemd/system'), {
    recursive: true,
    verbatimSymlinks: true,
  });
  for (const bin of ['usr/bin/kubelet', 'usr/local/bin/containerd', 'sbin/modprobe']) {
    mkdirSync(join(root, dirname(bin)), { recursive: true });
    writeFileSync(join(root, bin), '#!/bin/sh\n');
    chmodSync(join(root, bin), 0o755);
  }
  const place = (path: string, content: string) => {
    mkdirSync(join(root, dirname(path)), { recursive: true });
    writeFileSync(join(root, path), content);
  };
  const verify = (unit: string) => run('systemd-analyze', ['verify', `--root=${root}`, unit]);

  it('kubelet.service with the kubeadm drop-in of each family and containerd.service pass systemd-analyze verify', () => {
    for (const family of FAMILIES) {
      for (const f of kubeletFiles(inputFor('1.31', family, 'w1'))) place(f.path, f.content);
      expect(verify(KUBELET_UNIT_PATH), family).toEqual({ code: 0, out: '' });
    }
    place(CONTAINERD_UNIT_PATH, CONTAINERD_UNIT);
    expect(verify(CONTAINERD_UNIT_PATH)).toEqual({ code: 0, out: '' });
  });

  it('a misspelt key is reported (the check above can fail)', () => {
    place(KUBEADM_DROPIN_PATH, '[Service]\nEnviromentFile=-/etc/default/kubelet\n');
    expect(verify(KUBELET_UNIT_PATH).out).toMatch(/Unknown key/);
  });
});

describe("Debian's containerd", () => {
  const dump = (text: string) => {
    const f = join(tmp, 'config.toml');
    writeFileSync(f, text);
    return run('containerd', ['--config', f, 'config', 'dump']);
  };

  for (const c of CASE_NAMES.filter((n) =>
    inputFor(n, 'debian', 'w1').components.versions.containerd.startsWith('1.'),
  )) {
    it(`accepts the version 2 config of ${c} with systemd cgroups and kubeadm's pause image`, () => {
      const input = inputFor(c, 'debian', 'w1');
      const r = dump(containerdConfig(input));
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/^\s*SystemdCgroup = true$/m);
      expect(r.out).toContain(`sandbox_image = "${input.components.images.sandboxImage}"`);
      expect(r.out).toContain('config_path = "/etc/containerd/certs.d"');
    });
  }

  it("the 2.x config (version 3) passes the stand-in's transcription of containerd 2's plugin IDs", () => {
    // Debian ships containerd 1.x only; the stand-in refuses version 2 plugin IDs in a version 3 file.
    for (const c of CASE_NAMES) {
      const input = inputFor(c, 'debian', 'w1');
      const major = Number(input.components.versions.containerd.split('.')[0]);
      const got = parseContainerdConfig(containerdConfig(input), major);
      expect(got).toMatchObject({
        configVersion: major >= 2 ? 3 : 2,
        systemdCgroup: true,
        sandboxImage: input.components.images.sandboxImage,
        warnings: [],
      });
    }
  });

  it('refuses a config it cannot parse (the check above can fail)', () => {
    const bad = containerdConfig(inputFor('1.30', 'debian', 'w1')).replace('[grpc]', '[grpc');
    expect(dump(bad).code).not.toBe(0);
  });
});

describe("Debian's haproxy", () => {
  const check = (text: string) => {
    const f = join(tmp, 'haproxy.cfg');
    writeFileSync(f, text);
    return run('haproxy', ['-c', '-f', f]);
  };

  it('accepts every rendered haproxy.cfg', () => {
    for (const c of CASE_NAMES) {
      const r = check(haproxyConfig(inputFor(c, 'debian', 'w1')));
      expect(r.code, r.out).toBe(0);
      expect(r.out).not.toMatch(/WARNING|ALERT/);
    }
    const one = inputFor('1.30', 'debian', 'w1');
    expect(check(haproxyConfig({ ...one, masters: one.masters.slice(0, 1) })).code).toBe(0);
  });

  it('refuses a broken config (the check above can fail)', () => {
    expect(check(haproxyConfig(inputFor('1.30', 'debian', 'w1')).replace('fall 2', 'fall')).code).not.toBe(0);
  });
});

describe("kubeadm's strict decoder (the lab stand-in's transcription of the Go types)", () => {
  for (const c of CASE_NAMES) {
    it(`decodes the init and join configurations of ${c} without unknown fields`, () => {
      const minor = Number(c.split('.')[1]);
      const init = loadConfigText(
        kubeadmInitConfig(inputFor(c, 'debian', 'm1'), SECRETS),
        'init.yaml',
        minor,
        ['InitConfiguration', 'ClusterConfiguration'],
      );
      expect(init.warnings).toEqual([]);
      expect(init.api).toBe(minor < 31 ? 'v1beta3' : 'v1beta4');
      expect([...init.docs.keys()].sort()).toEqual([
        'ClusterConfiguration',
        'InitConfiguration',
        'KubeProxyConfiguration',
        'KubeletConfiguration',
      ]);
      for (const node of ['m2', 'w1']) {
        const join = loadConfigText(
          kubeadmJoinConfig(inputFor(c, 'debian', node), SECRETS),
          'join.yaml',
          minor,
          ['JoinConfiguration'],
        );
        expect(join.warnings).toEqual([]);
        expect(JSON.stringify(join.docs.get('JoinConfiguration'))).not.toContain('node-role.kubernetes.io');
      }
    });
  }

  it("pass the stand-in kubeadm's `config validate` of each version", async () => {
    for (const c of CASE_NAMES) {
      const kubeadm = await standinExecutable('kubeadm', inputFor(c, 'debian', 'm1').version, 'amd64');
      const { token, caCertHash, certificateKey } = SECRETS;
      const configs = {
        init: kubeadmInitConfig(inputFor(c, 'debian', 'm1'), SECRETS),
        master: kubeadmJoinConfig(inputFor(c, 'debian', 'm2'), { token, caCertHash, certificateKey }),
        worker: kubeadmJoinConfig(inputFor(c, 'debian', 'w1'), { token, caCertHash }),
        broken: kubeadmInitConfig(inputFor(c, 'debian', 'm1'), SECRETS).replace(
          'scheduler: {}',
          'schedulr: {}',
        ),
      };
      for (const [name, text] of Object.entries(configs)) {
        const f = join(tmp, `kubeadm-${c}-${name}.yaml`);
        writeFileSync(f, text);
        const r = run(kubeadm, ['config', 'validate', '--config', f]);
        expect(r.code === 0, `${c} ${name}: ${r.out}`).toBe(name !== 'broken');
      }
    }
  }, 120_000);

  it('a field of the other API version is refused (the check above can fail)', () => {
    const text = kubeadmInitConfig(inputFor('1.31', 'debian', 'm1'), SECRETS).replace(
      'scheduler: {}',
      'scheduler: {}\nnetworkin: {}',
    );
    expect(() =>
      loadConfigText(text, 'init.yaml', 31, ['InitConfiguration', 'ClusterConfiguration']),
    ).toThrow(/unknown field "networkin"/);
  });
});

describe('destroy guard', () => {
  it('leaves a node of another cluster alone and takes only the bundle from a node without an owner', () => {
    // The guard runs for real, with kubeon's own directories moved under the test's temporary one.
    const etc = join(tmp, 'etc-kubeon');
    const opt = join(tmp, 'opt-kubeon');
    const text = destroyScript(inputFor('1.31', 'debian', 'w1'))
      .text.replaceAll('/etc/kubeon', etc)
      .replaceAll('/opt/kubeon', opt);
    mkdirSync(etc, { recursive: true });
    mkdirSync(join(opt, 'v1.31.14'), { recursive: true });
    writeFileSync(join(etc, 'cluster'), 'other\n');
    expect(run('bash', ['-euo', 'pipefail', '-c', text])).toEqual({
      code: 1,
      out: 'this node belongs to cluster other, not prod: nothing removed\n',
    });
    expect(existsSync(join(opt, 'v1.31.14'))).toBe(true);
    rmSync(join(etc, 'cluster'));
    expect(run('bash', ['-euo', 'pipefail', '-c', text])).toEqual({
      code: 0,
      out: 'nothing of cluster prod on this node\n',
    });
    expect(existsSync(opt)).toBe(false);
    expect(existsSync(etc)).toBe(false);
  });
});
