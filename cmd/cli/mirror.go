package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/cobra"

	"github.com/kprov/kprov/bootstrap/images"
	"github.com/kprov/kprov/bootstrap/mirror"
	"github.com/kprov/kprov/bootstrap/phases"
	"github.com/kprov/kprov/bootstrap/registry"
)

func newMirror(env Env) *cobra.Command {
	var f specFlags
	var opts mirror.Options
	cmd := &cobra.Command{
		Use:   "mirror FILE --to REGISTRY",
		Short: "Copy every image the cluster runs into a private registry, for an air-gapped site",
		Long: "mirror copies every image of `kprov images FILE` into REGISTRY, digest-preserving, under\n" +
			"REGISTRY/<upstream host>/<repository>:<tag>: the layout a spec's\n" +
			"registries { mirror_all = \"https://REGISTRY\" } pulls from. Images are read through the\n" +
			"spec's mirrors when it names some (not those on REGISTRY itself), else from upstream;\n" +
			"an image the lock pins is copied at exactly that digest, and refused if its tag now\n" +
			"names another. Images REGISTRY already holds with the same digest are skipped, so an\n" +
			"interrupted copy is finished by running it again. Credentials come from the Docker\n" +
			"config (~/.docker/config.json).",
		Args: exactArgs(1, "one spec file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, err := mirror.ParseTarget(opts.Target, opts.PlainHTTP); err != nil {
				return usageError{fmt.Errorf("--to: %w", err)}
			}
			if opts.Parallel < 1 {
				return usageError{fmt.Errorf("--parallel %d: copy at least one image at a time", opts.Parallel)}
			}
			s, err := f.load(env, args[0])
			if err != nil {
				return err
			}
			imgs, err := phases.ClusterImages(cmd.Context(), s.Cluster, args[0], env.Stderr)
			if err != nil {
				return err
			}
			refs := make([]string, len(imgs))
			for i, img := range imgs {
				refs[i] = img.Ref
			}
			opts.Sources = registry.Upstreams(s.Cluster, refs)
			opts.BaseDir = filepath.Dir(args[0])
			opts.Keychain = authn.DefaultKeychain
			// A dry run's lines are its result; a copy's are progress.
			opts.Out = env.Stderr
			if opts.DryRun {
				opts.Out = env.Stdout
			}
			if terminal(env.Stderr) {
				opts.Progress = env.Stderr
			}
			res, err := mirror.Copy(cmd.Context(), imgs, opts)
			if err != nil && len(res.Images) == 0 {
				return err
			}
			verb := "copied"
			if opts.DryRun {
				verb = "to copy"
			}
			fmt.Fprintf(env.Stdout, "%d %s, %d already there (%s)\n", res.Copied, verb, res.Present, mirror.FormatSize(res.Bytes))
			if opts.DryRun {
				return err
			}
			// What was copied is what the site will run: pin it, so that
			// `up --locked` there refuses anything else.
			pins := map[string]string{}
			for _, o := range res.Images {
				pins[o.Image] = o.Digest
			}
			var unpinned []images.Image
			for _, img := range imgs {
				if img.Digest == "" {
					unpinned = append(unpinned, img)
				}
			}
			path, added, perr := phases.PinDigests(args[0], unpinned, pins)
			if len(added) > 0 {
				fmt.Fprintf(env.Stderr, "%s: pinned the digest of %s\n", path, plural(len(added), "image"))
			}
			return errors.Join(err, perr)
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&opts.Target, "to", "", "the registry to copy into: host[:port] or https://host[:port] (required)")
	cmd.Flags().BoolVar(&opts.PlainHTTP, "plain-http", false, "reach the target registry over plain HTTP (a lab; images travel unencrypted)")
	cmd.Flags().StringVar(&opts.CAFile, "ca-file", "", "PEM file of the CA that signed the target registry's certificate")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "say what would be copied, write nothing")
	cmd.Flags().IntVar(&opts.Parallel, "parallel", mirror.DefaultParallel, "how many images to copy at once")
	return cmd
}

// terminal reports whether w is a terminal (seen through -q's mute).
func terminal(w io.Writer) bool {
	if m, ok := w.(mute); ok {
		w = m.w
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
