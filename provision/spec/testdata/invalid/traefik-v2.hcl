cluster "demo" {
  kubernetes_version = "1.37.2"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  calico { version = "v3.31.5" }
  kube_proxy { mode = "nftables" }
  ingress {
    version       = "v2.11.24"
    load_balancer = "none"
  }
}
