import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfigText } from '../lib/config.js';
import { parseContainerdConfig } from '../lib/containerd-config.js';
import { FlagError, flag, parseFlags } from '../lib/flags.js';
import { check, KUBELET_CONFIGURATION } from '../lib/schema.js';

const cluster = (api: string, body: string) =>
  `apiVersion: kubeadm.k8s.io/${api}\nkind: ClusterConfiguration\n${body}`;
const load = (text: string, minor: number, kinds = ['InitConfiguration', 'ClusterConfiguration']) =>
  loadConfigText(text, 'test.yaml', minor, kinds);

describe('kubeadm config decoding per API version', () => {
  it('accepts list-style extraArgs and the v1beta4-only fields under v1beta4', () => {
    const c = load(
      cluster(
        'v1beta4',
        'certificateValidityPeriod: 876000h0m0s\napiServer:\n  extraArgs:\n  - name: event-ttl\n    value: 2h\n',
      ),
      31,
    );
    expect(c.api).toBe('v1beta4');
    expect(c.docs.get('ClusterConfiguration')?.certificateValidityPeriod).toBe('876000h0m0s');
  });

  it('rejects map-style extraArgs under v1beta4 as a type error', () => {
    expect(() => load(cluster('v1beta4', 'apiServer:\n  extraArgs:\n    event-ttl: 2h\n'), 31)).toThrow(
      /cannot unmarshal object into Go struct field ClusterConfiguration\.apiServer\.extraArgs of type \[\]v1beta4\.Arg/,
    );
  });

  it('rejects list-style extraArgs under v1beta3', () => {
    expect(() =>
      load(cluster('v1beta3', 'apiServer:\n  extraArgs:\n  - name: event-ttl\n    value: 2h\n'), 30),
    ).toThrow(
      /cannot unmarshal array into Go struct field ClusterConfiguration\.apiServer\.extraArgs of type map\[string\]string/,
    );
  });

  it('rejects v1beta4-only fields under v1beta3', () => {
    expect(() => load(cluster('v1beta3', 'certificateValidityPeriod: 876000h0m0s\n'), 30)).toThrow(
      /unknown field "certificateValidityPeriod"/,
    );
    expect(() =>
      load('apiVersion: kubeadm.k8s.io/v1beta3\nkind: InitConfiguration\ntimeouts:\n  discovery: 1m\n', 30),
    ).toThrow(/unknown field "timeouts"/);
  });

  it('does not know v1beta4 before 1.31, warns about v1beta3 from 1.31, and refuses it in 1.37', () => {
    expect(() => load(cluster('v1beta4', ''), 30)).toThrow(
      /no kind "ClusterConfiguration" is registered for version "kubeadm.k8s.io\/v1beta4"/,
    );
    expect(load(cluster('v1beta3', ''), 31).warnings.join('\n')).toMatch(
      /uses a deprecated API spec: "kubeadm.k8s.io\/v1beta3"/,
    );
    expect(() => load(cluster('v1beta3', ''), 37)).toThrow(/uses an old API spec: "kubeadm.k8s.io\/v1beta3"/);
  });

  it('requires apiVersion and kind on every document and refuses unknown groups', () => {
    expect(() => load('kind: ClusterConfiguration\n', 31)).toThrow(/kind and apiVersion is mandatory/);
    expect(() => load('apiVersion: example.com/v1\nkind: Widget\n', 31)).toThrow(ConfigError);
    expect(() => load(cluster('v1beta4', 'kind2: x\n'), 31)).toThrow(/unknown field "kind2"/);
  });

  it('decodes component configs strictly too', () => {
    const kubelet =
      'apiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\ncgroupDriver: systemd\nfailSwapOn: false\n';
    expect(load(kubelet, 31).docs.get('KubeletConfiguration')?.cgroupDriver).toBe('systemd');
    expect(() => load(`${kubelet}cgroupdriver: systemd\n`, 31)).toThrow(/unknown field "cgroupdriver"/);
    expect(() =>
      load(
        'apiVersion: kubeproxy.config.k8s.io/v1alpha1\nkind: KubeProxyConfiguration\nipvs:\n  strictArp: true\n',
        31,
      ),
    ).toThrow(/unknown field "ipvs.strictArp"/);
  });

  it('reports a kubelet config field of the wrong type', () => {
    const problems = { unknown: [] as string[], fatal: [] as string[] };
    check(
      { apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', maxPods: '110' },
      KUBELET_CONFIGURATION,
      '',
      'KubeletConfiguration',
      problems,
    );
    expect(problems.fatal[0]).toMatch(
      /cannot unmarshal string into Go struct field KubeletConfiguration\.maxPods/,
    );
  });

  it('refuses duplicate keys, as sigs.k8s.io/yaml does', () => {
    expect(() => load(cluster('v1beta4', 'clusterName: a\nclusterName: b\n'), 31)).toThrow(/yaml/);
  });
});

describe('containerd config.toml per containerd version', () => {
  const v2 =
    'version = 2\n[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n';
  const v3 =
    'version = 3\n[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]\n  SystemdCgroup = true\n';

  it('reads the cgroup driver from the version the containerd supports', () => {
    expect(parseContainerdConfig(v2, 1).systemdCgroup).toBe(true);
    expect(parseContainerdConfig(v3, 2).systemdCgroup).toBe(true);
  });

  it('refuses version 3 in containerd 1.7 and v3 plugin IDs in a version 2 file', () => {
    expect(() => parseContainerdConfig(v3, 1)).toThrow(/unsupported config version `3`/);
    expect(() => parseContainerdConfig(v3.replace('version = 3', 'version = 2'), 1)).toThrow(
      /not a plugin of config version 2/,
    );
  });

  it('migrates version 2 in containerd 2.x with a warning, like containerd does', () => {
    expect(parseContainerdConfig(v2, 2).warnings.join()).toMatch(/migrated from version 2/);
  });

  it('refuses a misspelt runc option that real containerd would silently ignore', () => {
    expect(() => parseContainerdConfig(v2.replace('SystemdCgroup', 'SystemdCgroups'), 1)).toThrow(
      /unknown option "SystemdCgroups"/,
    );
  });
});

describe('pflag-compatible parsing', () => {
  const table = { config: flag.str(), force: flag.bool('f'), v: flag.str('v'), list: flag.list() };
  it('accepts the spellings pflag accepts', () => {
    const p = parseFlags(['--config=a', '-f', '-v5', '--list', 'x,y', '--list=z', 'arg'], table);
    expect(Object.fromEntries(p.values)).toEqual({ config: 'a', force: true, v: '5', list: ['x', 'y', 'z'] });
    expect(p.args).toEqual(['arg']);
  });
  it('refuses unknown long and short flags and a missing value', () => {
    expect(() => parseFlags(['--nope'], table)).toThrow(new FlagError('unknown flag: --nope'));
    expect(() => parseFlags(['-x'], table)).toThrow("unknown shorthand flag: 'x' in -x");
    expect(() => parseFlags(['--config'], table)).toThrow('flag needs an argument: --config');
    expect(() => parseFlags(['--force=maybe'], table)).toThrow(/invalid argument "maybe"/);
  });
});
