// Package remote is kprov's SSH engine: one verified, persistent
// connection per node, commands multiplexed on it as root, uploads over
// SFTP, bounded fan-out, a log of every command per node with secrets
// redacted.
package remote

import (
	"context"
	"io/fs"
)

// Node is one node reached over SSH. Bootstrap steps talk to nodes only
// through it, so they can be tested against any implementation.
type Node interface {
	// Name is the node's name, used in logs and errors.
	Name() string
	// Run runs a shell command as root and returns its combined output.
	// A non-zero exit is a *RunError naming the node, the command and the
	// tail of the output. A command cut off by a dropped connection is
	// never run again by Run: the caller's step must be safe to repeat.
	Run(ctx context.Context, command string) (string, error)
	// Upload writes data to path as root with mode, through a temporary
	// name in the same folder and a rename.
	Upload(ctx context.Context, path string, data []byte, mode fs.FileMode) error
	// Download reads path as root. Its content is never logged.
	Download(ctx context.Context, path string) ([]byte, error)
}
