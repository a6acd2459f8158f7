cluster "demo" {
  kubernetes_version = "1.24.17"
  image { source = "/srv/images/debian.qcow2" }
  calico { version = "v3.28.5" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  kube_proxy { mode = "iptables" }
  kubeadm {
    patches = {
      "kube-apiserver+strategic.yaml" = "spec:\n  containers:\n  - name: kube-apiserver\n"
      "etcd+json.json"                = "[{\"op\": \"add\""
      "kube-proxy.yaml"               = "spec: {}"
      "kube-scheduler+yolo.yaml"      = "spec: {}"
      "kubeletconfiguration.yaml"     = "maxPods: 50"
      "etcd.yaml"                     = "  "
    }
  }
}
