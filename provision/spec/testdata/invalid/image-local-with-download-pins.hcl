cluster "demo" {
  kubernetes_version = "1.21.14"
  image {
    source       = "/srv/images/debian.qcow2"
    sha512       = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a089f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    checksum_url = "https://cloud.example/images/SHA512SUMS"
  }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
}
