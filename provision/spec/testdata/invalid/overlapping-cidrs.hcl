cluster "demo" {
  kubernetes_version = "1.21.14"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  network {
    node_cidr    = "10.0.0.0/16"
    pod_cidr     = "10.0.128.0/17"
    service_cidr = "10.0.0.0/12"
  }
}
