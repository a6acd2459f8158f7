cluster "demo" {
  kubernetes_version = "1.21.14"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  network { mtu = 1450 }
  calico {
    encapsulation = "vxlan"
    mtu           = "1440"
  }
}
