cluster "demo" {
  kubernetes_version = "1.21.14"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  network { node_cidr = "10.17.0.0/24" }
  ingress {
    manifest  = "/srv/manifests/traefik.yaml"
    addresses = ["10.17.0.1", "10.99.0.5", "10.17.0.240", "10.17.0.240"]
  }
}
