// Command bench times the same ten idempotent steps on N sshd hosts with
// kprov's SSH engine and with Ansible (default and tuned), side by side.
// Run it through bench.sh, which makes the network namespace and the
// login user and removes them afterwards.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/kprov/kprov/bootstrap/remote"
	"github.com/kprov/kprov/internal/sshdtest"
)

func main() {
	n := flag.Int("n", 20, "number of sshd hosts")
	user := flag.String("user", "", "login user with passwordless sudo (made by bench.sh)")
	work := flag.String("work", "", "work folder")
	rounds := flag.Int("rounds", 3, "kprov runs per phase (the median is reported)")
	timeout := flag.Duration("timeout", 20*time.Minute, "bound on the whole benchmark")
	flag.Parse()
	if *user == "" || *work == "" {
		fmt.Fprintln(os.Stderr, "usage: bench -user USER -work DIR [-n 20]; run bench.sh")
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *n, *user, *work, *rounds); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// result is one tool's times: a first run that changes everything and
// a second run that finds nothing to do.
type result struct {
	name        string
	apply, noop time.Duration
	detail      string
}

func run(ctx context.Context, n int, user, work string, rounds int) (err error) {
	keyPath := filepath.Join(work, "id_ed25519")
	_, client, err := sshdtest.NewKey(keyPath)
	if err != nil {
		return err
	}
	hosts, err := startHosts(work, n, client.PublicKey())
	defer func() { stopHosts(hosts, err != nil) }()
	if err != nil {
		return err
	}
	var results []result

	k := result{name: "kprov engine", detail: fmt.Sprintf("all %d hosts at once, median of %d", n, rounds)}
	var applies, noops []time.Duration
	for range rounds {
		if err := reset(hosts); err != nil {
			return err
		}
		for _, d := range []*[]time.Duration{&applies, &noops} {
			t, err := runKprov(ctx, hosts, user, client)
			if err != nil {
				return err
			}
			*d = append(*d, t)
		}
		if err := check(hosts); err != nil {
			return fmt.Errorf("kprov: %w", err)
		}
	}
	k.apply, k.noop = median(applies), median(noops)
	results = append(results, k)

	for _, v := range ansibleVariants(work) {
		r, err := runAnsible(ctx, work, v, hosts, user, keyPath)
		if err != nil {
			return err
		}
		results = append(results, r)
	}
	report(os.Stdout, n, results)
	return nil
}

func median(ds []time.Duration) time.Duration {
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2]
}

// runKprov runs the steps on every host with a fresh engine: connecting
// is part of the time.
func runKprov(ctx context.Context, hosts []*host, user string, client ssh.Signer) (time.Duration, error) {
	start := time.Now()
	e := remote.New(remote.Config{User: user, Auth: []ssh.AuthMethod{ssh.PublicKeys(client)}})
	defer e.Close()
	var nodes []*remote.Conn
	roots := map[string]string{}
	for _, h := range hosts {
		node, err := e.Node(remote.Target{Name: h.Name, Addr: h.IP + ":22", HostKey: h.Key})
		if err != nil {
			return 0, err
		}
		nodes = append(nodes, node)
		roots[h.Name] = h.Root
	}
	err := remote.Each(ctx, nodes, len(nodes), func(ctx context.Context, n *remote.Conn) error {
		for _, s := range steps() {
			if err := s(ctx, n, roots[n.Name()]); err != nil {
				return err
			}
		}
		return nil
	})
	return time.Since(start), err
}

type variant struct{ name, cfg, detail string }

func ansibleVariants(work string) []variant {
	return []variant{
		{"ansible default", fmt.Sprintf("[defaults]\nretry_files_enabled = False\n[ssh_connection]\ncontrol_path_dir = %s/cp-default\n", work),
			"forks=5, no pipelining, Ansible's own ControlPersist=60s"},
		{"ansible tuned", fmt.Sprintf("[defaults]\nforks = 20\nretry_files_enabled = False\n[ssh_connection]\npipelining = True\n"+
			"ssh_args = -o ControlMaster=auto -o ControlPersist=600s\ncontrol_path_dir = %s/cp-tuned\n", work),
			"forks=20, pipelining=True, ControlPersist=600s"},
	}
}

func runAnsible(ctx context.Context, work string, v variant, hosts []*host, user, key string) (result, error) {
	dir := filepath.Join(work, strings.ReplaceAll(v.name, " ", "-"))
	os.MkdirAll(dir, 0o700)
	os.WriteFile(filepath.Join(dir, "ansible.cfg"), []byte(v.cfg), 0o600)
	os.WriteFile(filepath.Join(dir, "playbook.yml"), []byte(playbook()), 0o600)
	var inv, kh strings.Builder
	fmt.Fprintf(&inv, "all:\n  vars:\n    ansible_user: %s\n    ansible_ssh_private_key_file: %s\n    ansible_python_interpreter: /usr/bin/python3\n"+
		"    ansible_ssh_common_args: \"-o UserKnownHostsFile=%s/known_hosts -o StrictHostKeyChecking=yes\"\n  hosts:\n", user, key, dir)
	for _, h := range hosts {
		fmt.Fprintf(&inv, "    %s: {ansible_host: %s, d: %s}\n", h.Name, h.IP, h.Root)
		fmt.Fprintf(&kh, "%s %s", h.IP, ssh.MarshalAuthorizedKey(h.Key))
	}
	os.WriteFile(filepath.Join(dir, "inventory.yml"), []byte(inv.String()), 0o600)
	os.WriteFile(filepath.Join(dir, "known_hosts"), []byte(kh.String()), 0o600)
	if err := reset(hosts); err != nil {
		return result{}, err
	}
	r := result{name: v.name, detail: v.detail}
	for i, d := range []*time.Duration{&r.apply, &r.noop} {
		cmd := exec.CommandContext(ctx, "ansible-playbook", "-i", "inventory.yml", "playbook.yml")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "ANSIBLE_CONFIG="+filepath.Join(dir, "ansible.cfg"), "ANSIBLE_NOCOLOR=1", "ANSIBLE_CALLBACKS_ENABLED=ansible.posix.profile_tasks")
		start := time.Now()
		out, err := cmd.CombinedOutput()
		*d = time.Since(start)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("run-%d.log", i+1)), out, 0o600)
		if err != nil {
			return r, fmt.Errorf("%s run %d: %v; see %s/run-%d.log", v.name, i+1, err, dir, i+1)
		}
	}
	if err := check(hosts); err != nil {
		return r, fmt.Errorf("%s: %w", v.name, err)
	}
	return r, nil
}

func report(w *os.File, n int, rs []result) {
	k := rs[0]
	fmt.Fprintf(w, "10 idempotent steps on %d sshd hosts (one machine, %d CPUs)\n\n", n, numCPU())
	fmt.Fprintf(w, "%-16s %12s %12s %14s %14s  %s\n", "tool", "apply", "re-run", "apply/kprov", "re-run/kprov", "settings")
	for _, r := range rs {
		fmt.Fprintf(w, "%-16s %11.2fs %11.2fs %13.1fx %13.1fx  %s\n", r.name, r.apply.Seconds(), r.noop.Seconds(),
			r.apply.Seconds()/k.apply.Seconds(), r.noop.Seconds()/k.noop.Seconds(), r.detail)
	}
}

func numCPU() int {
	b, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(b), "processor\t:")
}
