cluster "demo" {
  kubernetes_version = "1.21.14"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  ingress {
    controller    = "traefik"
    load_balancer = "none"
  }
}
