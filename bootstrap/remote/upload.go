package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	pathpkg "path"
	"strings"

	"github.com/pkg/sftp"
)

// sftpServer starts OpenSSH's SFTP server from where Debian, Ubuntu and
// Fedora put it.
const sftpServer = `for p in /usr/lib/openssh/sftp-server /usr/lib/sftp-server /usr/libexec/openssh/sftp-server /usr/libexec/sftp-server; do [ -x "$p" ] && exec "$p"; done; echo "kprov: no sftp-server on this node" >&2; exit 127`

// upload writes data to a temporary name beside path as root over SFTP
// (an sftp-server started through sudo), syncs it, sets mode and renames
// it over path, so path is never seen half-written.
func (n *Conn) upload(ctx context.Context, path string, data []byte, mode fs.FileMode) error {
	n.log.Printf("upload %s (%d bytes, mode %04o)", path, len(data), mode.Perm())
	err := n.sftp(ctx, "upload", path, func(sc *sftp.Client) error { return writeAtomic(sc, path, data, mode) })
	if err == nil {
		n.log.Printf("uploaded %s", path)
	}
	return err
}

// download reads path as root over SFTP. Its content is never logged:
// it is how secrets such as the admin kubeconfig leave a node.
func (n *Conn) download(ctx context.Context, path string) ([]byte, error) {
	n.log.Printf("download %s", path)
	var data []byte
	err := n.sftp(ctx, "download", path, func(sc *sftp.Client) error {
		f, err := sc.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		var buf bytes.Buffer
		if _, err := f.WriteTo(&buf); err != nil {
			return err
		}
		data = buf.Bytes()
		return nil
	})
	if err == nil {
		n.log.Printf("downloaded %s (%d bytes)", path, len(data))
	}
	return data, err
}

// sftp runs fn with an SFTP client talking to an sftp-server started as
// root on a session of the node's connection.
func (n *Conn) sftp(ctx context.Context, what, path string, fn func(*sftp.Client) error) error {
	if !pathpkg.IsAbs(path) {
		return fmt.Errorf("node %s: %s %s: path must be absolute", n.t.Name, what, path)
	}
	fail := func(err error) error {
		n.log.Printf("%s %s failed: %v", what, path, err)
		return n.wrap(fmt.Errorf("%s %s: %w", what, path, err))
	}
	s, c, release, err := n.session(ctx)
	if err != nil {
		return err
	}
	defer release()
	defer s.Close()
	var stderr bytes.Buffer
	s.Stderr = &stderr
	w, err := s.StdinPipe()
	if err != nil {
		return fail(err)
	}
	r, err := s.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	if err := s.Start(asRoot(n.e.cfg.User, sftpServer)); err != nil {
		n.drop(c)
		return fail(err)
	}
	// Closing the session unblocks every SFTP call when ctx ends.
	stop := context.AfterFunc(ctx, func() { s.Close() })
	defer stop()
	sc, err := sftp.NewClientPipe(r, w)
	if err != nil {
		return fail(fmt.Errorf("start sftp-server as root: %v %s", err, strings.TrimSpace(stderr.String())))
	}
	defer sc.Close()
	if err := fn(sc); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return fail(err)
	}
	return nil
}

func writeAtomic(sc *sftp.Client, path string, data []byte, mode fs.FileMode) (err error) {
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := pathpkg.Join(pathpkg.Dir(path), "."+pathpkg.Base(path)+".kprov-"+hex.EncodeToString(rnd[:]))
	f, err := sc.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("create %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			sc.Remove(tmp)
		}
	}()
	// Mode first, so secret bytes never sit in a wider-open file.
	if err := f.Chmod(mode.Perm()); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	if _, err := f.ReadFrom(bytes.NewReader(data)); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if err := sc.PosixRename(tmp, path); err != nil {
		return fmt.Errorf("rename %s over %s: %w", tmp, path, err)
	}
	return nil
}
