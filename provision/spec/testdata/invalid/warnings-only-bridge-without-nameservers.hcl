cluster "demo" {
  kubernetes_version = "1.21.14"
  image {
    source = "/srv/images/debian.qcow2"
  }
  network {
    mode      = "bridge"
    bridge    = "br0"
    node_cidr = "10.20.10.0/24"
    gateway   = "10.20.10.1"
  }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
}
