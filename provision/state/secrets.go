package state

import "github.com/kprov/kprov/provision/secrets"

// Secrets and HostKey are provision/secrets' value types, named here for
// the code that reads them from the folder.
type (
	Secrets = secrets.Secrets
	HostKey = secrets.HostKey
)
