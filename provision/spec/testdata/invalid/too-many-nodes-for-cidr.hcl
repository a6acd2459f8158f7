cluster "demo" {
  kubernetes_version = "1.21.14"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  network { node_cidr = "10.17.0.0/27" }
  node_pool "worker" {
    role  = "worker"
    count = 30
  }
}
