variable "workers" {
  type    = number
  default = 0
  validation {
    condition     = var.workers > 0
    error_message = "Need at least one worker."
  }
}
cluster "demo" {
  kubernetes_version = "1.21.14"
  image { source = "/srv/images/debian.qcow2" }
  node_pool "cp" {
    role   = "control-plane"
    memory = "2GiB"
  }
}
