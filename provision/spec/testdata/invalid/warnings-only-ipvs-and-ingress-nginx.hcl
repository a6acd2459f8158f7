cluster "demo" {
  kubernetes_version = "1.36.1"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  calico { version = "v3.31.5" }
  kube_proxy { mode = "ipvs" }
  ingress { manifest = "/srv/manifests/ingress-nginx.yaml" }
}
