/**
 * /var/lib/kubelet/kubeadm-flags.env, as kubeadm's upgrade leaves it. kubeadm 1.35 stopped writing
 * --pod-infra-container-image (the 1.35 kubelet refuses it) and, on upgrade, removes it from the
 * file (kubernetes/kubernetes#133778); 1.36 dropped that cleanup again (kubernetes/kubernetes#135807).
 */
export function unwantedKubeletFlags(kubeadmMinor: number): string[] {
  return kubeadmMinor === 35 ? ['pod-infra-container-image'] : [];
}

/** Removes `--name=value` and `--name value` spellings of the given flags from KUBELET_KUBEADM_ARGS. */
export function dropKubeletFlags(envText: string, names: string[]): string {
  if (!names.length) return envText;
  return envText.replace(
    /^(KUBELET_KUBEADM_ARGS=")([^"]*)(")/m,
    (_m, head: string, args: string, tail: string) => {
      const words = args.split(/\s+/).filter(Boolean);
      const kept: string[] = [];
      for (let i = 0; i < words.length; i++) {
        const name = /^--([^=]+)/.exec(words[i]!)?.[1];
        if (name && names.includes(name)) {
          if (!words[i]!.includes('=') && words[i + 1] && !words[i + 1]!.startsWith('--')) i++;
          continue;
        }
        kept.push(words[i]!);
      }
      return `${head}${kept.join(' ')}${tail}`;
    },
  );
}

/** kubeadm writes --pod-infra-container-image at init and join up to 1.34. */
export function writesPodInfraImage(kubeadmMinor: number): boolean {
  return kubeadmMinor <= 34;
}
