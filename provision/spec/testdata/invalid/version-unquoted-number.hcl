cluster "a" {
  kubernetes_version = 1.21
  image { source = "/srv/d.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
}
