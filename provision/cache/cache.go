// Package cache names kprov's cache folders. It imports nothing of kprov,
// so every package, test judges included, can use the one rule.
package cache

import (
	"os"
	"path/filepath"
)

// Dir is kprov's cache folder sub: $KPROV_CACHE/sub, else
// $XDG_CACHE_HOME/kprov/sub, else ~/.cache/kprov/sub. getenv reads the
// environment (os.Getenv, or a command's own).
func Dir(sub string, getenv func(string) string) string {
	base := getenv("KPROV_CACHE")
	switch {
	case base != "":
	case getenv("XDG_CACHE_HOME") != "":
		base = filepath.Join(getenv("XDG_CACHE_HOME"), "kprov")
	case getenv("HOME") != "":
		base = filepath.Join(getenv("HOME"), ".cache", "kprov")
	default:
		base = filepath.Join(os.TempDir(), "kprov-cache")
	}
	return filepath.Join(base, sub)
}
