cluster "demo" {
  kubernetes_version = "1.30.14"
  image { source = "/srv/images/debian.qcow2" }
  calico { version = "v3.28.5" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  kube_proxy { mode = "iptables" }
  kubeadm { ignore_preflight_errors = ["all", "NumCPU"] }
  registries {
    ca_file = "ca.pem"
  }
}
