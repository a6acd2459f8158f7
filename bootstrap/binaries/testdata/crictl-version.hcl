# A spec that sets crictl's version and pins its tarball.
cluster "pinned" {
  kubernetes_version = "1.21.14"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
  artifacts {
    crictl_version = "1.30.0"
    sha256 = {
      crictl = "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
    }
  }
}
