cluster "demo" {
  kubernetes_version = "1.21.14"
  image { source = "/srv/images/debian.qcow2" }
  calico { version = "v3.11.3" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  kube_proxy { mode = "ipvs" }
  kubeadm {
    patches = { "kube-apiserver.yaml" = "spec: {}" }
  }
}
