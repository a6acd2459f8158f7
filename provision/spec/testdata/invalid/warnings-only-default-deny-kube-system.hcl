cluster "a" {
  kubernetes_version = "1.21.14"
  network_policy { default_deny_namespaces = ["kube-system"] }
  image { source = "/srv/d.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
}
