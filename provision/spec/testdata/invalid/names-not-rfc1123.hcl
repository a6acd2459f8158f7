cluster "Demo_1" {
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  node_pool "Workers!" {
    role = "worker"
  }
}
