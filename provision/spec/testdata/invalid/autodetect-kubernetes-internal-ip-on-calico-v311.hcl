cluster "a" {
  kubernetes_version = "1.21.14"
  calico { ip_autodetection_method = "kubernetes-internal-ip" }
  image { source = "/srv/d.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
}
