package download

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"syscall"
)

// roomFor fails when the file system holding p has less than need bytes
// free (need < 0: the size is unknown, nothing to check).
func roomFor(p string, need int64) error {
	if need <= 0 {
		return nil
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(filepath.Dir(p), &st); err != nil {
		return nil
	}
	free := int64(st.Bavail) * int64(st.Bsize)
	if free < need {
		return fmt.Errorf("it needs %s more and the cache's disk (%s) has %s free: free space there, or point KPROV_CACHE at a larger disk", mib(need), filepath.Dir(p), mib(free))
	}
	return nil
}

// tlsProblem reports whether err is a certificate or handshake failure.
func tlsProblem(err error) bool {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		verify   *tls.CertificateVerificationError
		record   tls.RecordHeaderError
	)
	return errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid) ||
		errors.As(err, &verify) || errors.As(err, &record)
}
