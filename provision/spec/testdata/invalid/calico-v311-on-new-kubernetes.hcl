cluster "demo" {
  kubernetes_version = "1.25.3"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  calico { version = "v3.11.3" }
}
