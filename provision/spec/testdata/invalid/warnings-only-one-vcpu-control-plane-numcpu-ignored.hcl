cluster "demo" {
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    vcpu   = 1
    memory = "2GiB"
  }
  kubeadm {
    ignore_preflight_errors = ["numcpu"]
  }
}
