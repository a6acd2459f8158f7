cluster "demo" {
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    count  = 3
    memory = "2GiB"
  }
  network {
    api_vip      = "10.17.0.10"
    api_endpoint = "api.example.com"
  }
}
