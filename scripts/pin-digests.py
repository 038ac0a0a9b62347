#!/usr/bin/env python3
"""Regenerates src/artifacts/digests.json from a kubespray clone's history of
roles/kubespray_defaults/vars/main/checksums.yml (kubespray copies upstream's published checksums).

Usage: python3 scripts/pin-digests.py /path/to/kubespray
Pins kubeadm/kubelet/kubectl for every patch of the catalogued minors and the runtime versions the
catalog names; fails if two kubespray revisions disagree on a digest.
"""
import json
import subprocess
import sys

import yaml

FILE = 'roles/kubespray_defaults/vars/main/checksums.yml'
KEYS = {
    'kubeadm': 'kubeadm_checksums', 'kubelet': 'kubelet_checksums', 'kubectl': 'kubectl_checksums',
    'containerd': 'containerd_archive_checksums', 'runc': 'runc_checksums', 'crictl': 'crictl_checksums',
    'cni': 'cni_binary_checksums',
}
NAMES = {
    'kubeadm': 'kubeadm/v{v}/{a}/kubeadm', 'kubelet': 'kubelet/v{v}/{a}/kubelet', 'kubectl': 'kubectl/v{v}/{a}/kubectl',
    'containerd': 'containerd/{v}/{a}/containerd-{v}-linux-{a}.tar.gz', 'runc': 'runc/v{v}/{a}/runc.{a}',
    'crictl': 'crictl/v{v}/{a}/crictl-v{v}-linux-{a}.tar.gz', 'cni': 'cni/v{v}/{a}/cni-plugins-linux-{a}-v{v}.tgz',
}


def main(repo: str) -> None:
    git = lambda *a: subprocess.check_output(['git', '-C', repo, *a]).decode()
    catalog = json.load(open('src/artifacts/catalog.json'))['minors']
    minors = {int(m.split('.')[1]) for m in catalog}
    runtime = {c: {e[c].lstrip('v') for e in catalog.values()} for c in ('containerd', 'runc', 'crictl', 'cni')}
    union = {}
    revisions = [line.split() for line in git('log', '--format=%H %cs', '--', FILE).splitlines()]
    for rev, _ in revisions:
        doc = yaml.safe_load(git('show', f'{rev}:{FILE}'))
        for comp, key in KEYS.items():
            for arch in ('amd64', 'arm64'):
                for ver, digest in ((doc.get(key) or {}).get(arch) or {}).items():
                    ver = str(ver)
                    if not str(digest).startswith('sha256:'):
                        continue
                    kube = comp in ('kubeadm', 'kubelet', 'kubectl')
                    if (kube and int(ver.split('.')[1]) not in minors) or (not kube and ver not in runtime[comp]):
                        continue
                    name = NAMES[comp].format(v=ver, a=arch)
                    if union.setdefault(name, digest[7:]) != digest[7:]:
                        sys.exit(f'{name}: kubespray revisions disagree ({rev})')
    missing = [NAMES[c].format(v=v, a=a) for c, vs in runtime.items() for v in vs for a in ('amd64', 'arm64')
               if NAMES[c].format(v=v, a=a) not in union]
    if missing:
        print('not in kubespray (unpinned):', *missing, sep='\n  ', file=sys.stderr)
    out = json.load(open('src/artifacts/digests.json'))
    order = lambda k: (k.split('/')[0], [int(x) for x in k.split('/')[1].lstrip('v').split('.')], k)
    out['sha256'] = dict(sorted(union.items(), key=lambda kv: order(kv[0])))
    print(f'{len(union)} digests from {len(revisions)} revisions up to {revisions[0][0]}', file=sys.stderr)
    with open('src/artifacts/digests.json', 'w') as f:
        json.dump(out, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main(sys.argv[1])
