cluster "demo" {
  kubernetes_version = "1.37.2"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  calico { version = "v3.31.5" }
  kube_proxy { mode = "nftables" }
  ingress {
    controller    = "traefik"
    crds_manifest = "https://mirror.example/traefik/v3.6.12/kubernetes-crd-definition-v1.yml"
    rbac_manifest = "/var/lib/kprov/manifests/traefik-v3.6.12-rbac.yaml"
    addresses     = ["10.17.0.240"]
  }
}
