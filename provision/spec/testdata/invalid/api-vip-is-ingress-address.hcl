cluster "demo" {
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    count  = 3
    memory = "2GiB"
  }
  network {
    node_cidr = "10.17.0.0/24"
    api_vip   = "10.17.0.240"
  }
  ingress {
    addresses = ["10.17.0.240"]
  }
}
