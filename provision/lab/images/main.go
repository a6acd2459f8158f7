// Package main is the lab's image builder and registry (lab tooling, not
// part of kprov): it builds every container image the lab's spec needs from
// source (Go module proxy, Debian's mirror, ../shared/upstream-src), with
// no Docker and no registry, assembles them with go-containerregistry into
// an OCI layout, and serves that layout as a read-only registry in the
// mirror_all layout (/v2/<upstream host>/<repository>).
//
//	images build [--out DIR] [--images FILE.json] [--cache DIR] [--root DIR] [--prune] [-v]
//	images serve [--addr 10.77.0.1:5000] [--dir DIR]
//	images list
//
// provision/lab/registry.sh runs it; see provision/lab/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/kprov/kprov/provision/state"
)

// defaultDir is the image store registry.sh builds and serves.
const defaultDir = "/var/lib/kprov/lab-images"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: images build|serve|list [flags] (images CMD -h for flags)")
		return 2
	}
	var err error
	switch args[0] {
	case "build":
		err = cmdBuild(args[1:], stdout, stderr)
	case "serve":
		err = cmdServe(args[1:], stderr)
	case "list":
		for _, r := range Recipes() {
			fmt.Fprintln(stdout, r.ref)
		}
	default:
		err = fmt.Errorf("unknown command %q: build, serve or list", args[0])
	}
	if errors.Is(err, flag.ErrHelp) {
		return 2
	}
	if err != nil {
		fmt.Fprintf(stderr, "images: error: %v\n", err)
		return 1
	}
	return 0
}

func cmdBuild(args []string, stdout, stderr io.Writer) error {
	fl := flag.NewFlagSet("build", flag.ContinueOnError)
	fl.SetOutput(stderr)
	out := fl.String("out", defaultDir, "the OCI layout to write")
	list := fl.String("images", "", "JSON list of the images to provide (kprov images FILE -o json); default: every recipe")
	cache := fl.String("cache", defaultCache(), "the build cache (binaries, layers)")
	root := fl.String("root", "", "the kprov repository (default: found from the working directory)")
	pruneOthers := fl.Bool("prune", false, "drop images of no selected recipe from the store")
	verbose := fl.Bool("v", false, "log every command")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if fl.NArg() > 0 {
		return fmt.Errorf("build takes no arguments, got %q", fl.Args())
	}
	recipes := Recipes()
	if *list != "" {
		b, err := os.ReadFile(*list)
		if err != nil {
			return err
		}
		wanted, err := ParseImageList(b)
		if err != nil {
			return fmt.Errorf("%s: %w", *list, err)
		}
		if recipes, err = Select(recipes, wanted); err != nil {
			return fmt.Errorf("%s: %w", *list, err)
		}
	}
	if *root == "" {
		r, err := findRoot()
		if err != nil {
			return err
		}
		*root = r
	}
	e := NewEnv(*root, *cache, stderr)
	e.Verbose = *verbose
	t0 := time.Now()
	results, err := Build(e, *out, recipes, *pruneOthers)
	PrintTable(stdout, results, time.Since(t0))
	return err
}

func cmdServe(args []string, stderr io.Writer) error {
	fl := flag.NewFlagSet("serve", flag.ContinueOnError)
	fl.SetOutput(stderr)
	addr := fl.String("addr", "10.77.0.1:5000", "address to listen on (bound with IP_FREEBIND)")
	dir := fl.String("dir", defaultDir, "the OCI layout to serve")
	if err := fl.Parse(args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	l, err := Listen(ctx, *addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", *addr, err)
	}
	s := &Server{Dir: *dir, Log: log.New(stderr, "registry: ", log.LstdFlags)}
	return s.Serve(ctx, l)
}

// defaultCache is KPROV_CACHE/lab-images (default ~/.cache/kprov), beside
// the other builds of the kprov cache.
func defaultCache() string { return state.CacheDir("lab-images", os.Getenv) }

// findRoot is the kprov repository holding the working directory.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for i := 0; i < 64; i++ {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/kprov/kprov\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("the working directory is not inside the kprov repository: pass --root")
}
