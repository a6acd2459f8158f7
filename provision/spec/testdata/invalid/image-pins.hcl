cluster "demo" {
  kubernetes_version = "1.21.14"
  image {
    source        = "https://cloud.example/images/debian-12-genericcloud-amd64.qcow2"
    sha512        = "abc123"
    checksum_url  = "ftp://cloud.example/images/SHA512SUMS"
    checksum_name = "debian 12.qcow2"
  }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
}
