// Package state keeps what kprov must remember about a cluster between runs:
// secrets generated once (SSH keys, host keys, join credentials, the cluster
// CA), all in one folder, files mode 0600 in a 0700 folder.
//
// The folder (see DefaultDir) holds:
//
//	ssh/id_ed25519          client key kprov logs in with (OpenSSH PEM)
//	ssh/id_ed25519.pub      its authorized_keys line, comment kprov-<cluster>
//	ssh/hosts/<node>        each node's ed25519 SSH host key (OpenSSH PEM)
//	kubeadm/token           bootstrap token, [a-z0-9]{6}.[a-z0-9]{16}
//	kubeadm/certificate-key 64 hex characters
//	pki/ca.crt, pki/ca.key  cluster CA (PEM certificate, PKCS#1 RSA key)
//
// Files are written once, atomically, and never regenerated: deleting one
// makes the next Ensure create a new value. A host key outlives its node.
// Files or folders readable by group or others are refused.
package state
