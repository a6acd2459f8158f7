cluster "demo" {
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    count  = 3
    memory = "2GiB"
  }
  network {
    mode        = "bridge"
    bridge      = "br0"
    node_cidr   = "172.20.0.0/24"
    gateway     = "172.20.0.1"
    nameservers = ["172.20.0.1"]
  }
}
