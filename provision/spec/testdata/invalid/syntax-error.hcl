cluster "demo" {
  kubernetes_version = 
