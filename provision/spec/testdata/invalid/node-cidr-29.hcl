cluster "a" {
  kubernetes_version = "1.21.14"
  network { node_cidr = "10.1.0.0/29" }
  image { source = "/srv/d.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
}
