# Traefik with its settings away from kprov's defaults, on the oldest
# Kubernetes Traefik v3 supports.
cluster "edge" {
  kubernetes_version = "1.22.17"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  kube_proxy { mode = "iptables" }
  calico { version = "v3.31.5" }
  ingress {
    controller              = "traefik"
    version                 = "v3.6.12"
    namespace               = "edge"
    service_name            = "edge-proxy"
    replicas                = 2
    external_traffic_policy = "Cluster"
    addresses               = ["10.17.0.240", "10.17.0.241"]
    load_balancer           = "metallb"
  }
}
