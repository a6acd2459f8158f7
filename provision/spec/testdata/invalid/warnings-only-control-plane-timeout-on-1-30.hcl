cluster "demo" {
  kubernetes_version = "1.30.14"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  calico { version = "v3.28.5" }
  timeouts {
    control_plane = "20m"
  }
}
