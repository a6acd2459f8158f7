package main

// Traefik as the lab's ingress addon names it (docker.io/traefik:v3.6.12,
// which containerd reads as docker.io/library/traefik).
const (
	traefikVersion = "v3.6.12"
	traefikModule  = "github.com/traefik/traefik/v3"
	// traefikStamp, traefikCodename and traefikDate are what the release's
	// goreleaser stamps: its .Version (the tag without "v"), the CODENAME
	// of .github/workflows/release.yaml, and (for the build time) the
	// proxy's time of the tag.
	traefikStamp    = "3.6.12"
	traefikCodename = "ramequin"
	traefikDate     = "2026-03-26T09:54:04Z"
)

// traefik is the official image's layout without its shell: the binary at
// /usr/local/bin/traefik (on PATH, so `command: [traefik, ...]` works) as
// the entrypoint, so that arguments alone (`args: [--entryPoints...]`) run
// traefik with them, as the official /entrypoint.sh does for arguments
// starting with '-'; port 80. Built as .goreleaser.yml.tmpl builds it
// (CGO_ENABLED=0, -trimpath, -s -w, version stamps), the module as the main
// module (its replace directives name forks). The module zip's web UI is a
// placeholder: the dashboard has no assets.
func traefik(e *Env) (Image, error) {
	base, err := staticBase(e)
	if err != nil {
		return Image{}, err
	}
	in, err := goInputs(e)
	if err != nil {
		return Image{}, err
	}
	flags := "-s -w"
	for _, x := range []string{"Version=" + traefikStamp, "Codename=" + traefikCodename, "BuildDate=" + traefikDate} {
		flags += " -X github.com/traefik/traefik/v3/pkg/version." + x
	}
	bin := &Binary{Name: "traefik", Kind: "main", Module: traefikModule, Version: traefikVersion, Package: "./cmd/traefik", Flags: flags, Inputs: in}
	return Image{
		Layers: []Layer{base, {Name: "traefik", Files: []File{exe("usr/local/bin/traefik", bin)}}},
		Config: Config{Entrypoint: []string{"/usr/local/bin/traefik"}, Env: []string{pathEnv}, Ports: []string{"80/tcp"}},
	}, nil
}
