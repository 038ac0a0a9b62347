/**
 * Excerpts of the upstream CNI manifests, shaped as upstream publishes them (calico's
 * manifests/calico.yaml; cilium's chart rendered with `helm template`): the parts the rewrite
 * touches plus quoted scalars that must stay strings.
 */
export const CALICO_UPSTREAM = `---
# Source: calico/templates/calico-config.yaml
kind: ConfigMap
apiVersion: v1
metadata:
  name: calico-config
  namespace: kube-system
data:
  typha_service_name: "none"
  calico_backend: "bird"
  veth_mtu: "0"
---
# Source: calico/templates/calico-node.yaml
kind: DaemonSet
apiVersion: apps/v1
metadata:
  name: calico-node
  namespace: kube-system
  labels:
    k8s-app: calico-node
spec:
  selector:
    matchLabels:
      k8s-app: calico-node
  template:
    metadata:
      labels:
        k8s-app: calico-node
    spec:
      hostNetwork: true
      initContainers:
        - name: install-cni
          image: docker.io/calico/cni:v3.31.7
          imagePullPolicy: IfNotPresent
          command: ["/opt/cni/bin/install"]
      containers:
        - name: calico-node
          image: docker.io/calico/node:v3.31.7
          imagePullPolicy: IfNotPresent
          env:
            - name: DATASTORE_TYPE
              value: "kubernetes"
            - name: CALICO_IPV4POOL_IPIP
              value: "Always"
            # The default IPv4 pool to create on startup if none exists. Pod IPs will be
            # chosen from this range. Changing this value after installation will have
            # no effect. This should fall within \`--cluster-cidr\`.
            # - name: CALICO_IPV4POOL_CIDR
            #   value: "192.168.0.0/16"
            - name: FELIX_HEALTHENABLED
              value: "true"
---
# Source: calico/templates/calico-kube-controllers.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: calico-kube-controllers
  namespace: kube-system
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: calico-kube-controllers
          image: docker.io/calico/kube-controllers:v3.31.7
          imagePullPolicy: IfNotPresent
`;

export const CILIUM_UPSTREAM = `---
# Source: cilium/templates/cilium-configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: cilium-config
  namespace: kube-system
data:
  ipam: "cluster-pool"
  cluster-pool-ipv4-cidr: "10.0.0.0/8"
  cluster-pool-ipv4-mask-size: "24"
  enable-ipv4: "true"
---
# Source: cilium/templates/cilium-agent/daemonset.yaml
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: cilium
  namespace: kube-system
spec:
  template:
    spec:
      containers:
      - name: cilium-agent
        image: "quay.io/cilium/cilium:v1.18.14@sha256:0d6a8ab9e9c1d5c8e7b6f3a2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2"
        imagePullPolicy: IfNotPresent
---
# Source: cilium/templates/cilium-operator/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: cilium-operator
  namespace: kube-system
spec:
  template:
    spec:
      containers:
      - name: cilium-operator
        image: "quay.io/cilium/operator-generic:v1.18.14@sha256:1e7b9c8d7a6f5e4d3c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d"
        imagePullPolicy: IfNotPresent
`;
