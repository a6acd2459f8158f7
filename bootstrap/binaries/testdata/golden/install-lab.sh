set -eu
name=kubeadm dst=/usr/local/bin/kubeadm url=http://10.77.0.1:8080/release/v1.21.14/bin/linux/amd64/kubeadm sum=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
stamp=/var/lib/kprov/binaries/kubeadm
seen() { echo "$sum $(stat -c '%s %Y %i' "$dst")"; }
if [ -f "$dst" ] && [ -x "$dst" ] && { [ "$(cat "$stamp" 2>/dev/null)" = "$(seen)" ] || printf '%s  %s\n' "$sum" "$dst" | sha256sum --check --status; }; then
	[ "$(cat "$stamp" 2>/dev/null)" = "$(seen)" ] || { mkdir -p "$(dirname "$stamp")" && seen >"$stamp"; }
	echo "$name: $dst has sha256 $sum"
else
	tmp=$(mktemp /usr/local/bin/.kubeadm.XXXXXXXX)
	trap 'rm -f "$tmp"' EXIT
	trap 'rm -f "$tmp"; exit 1' HUP INT TERM
	curl --fail --silent --show-error --location --globoff --proto '=http,https' --proto-redir '=http,https' --retry 5 --retry-delay 2 --retry-connrefused --connect-timeout 10 --max-time 600 --output "$tmp" "$url"
	if ! printf '%s  %s\n' "$sum" "$tmp" | sha256sum --check --status; then
		echo "$name: $url has sha256 $(sha256sum <"$tmp" | cut -d' ' -f1), want $sum" >&2
		exit 1
	fi
	chmod 0755 "$tmp"
	mv -f "$tmp" "$dst"
	trap - EXIT HUP INT TERM
	mkdir -p "$(dirname "$stamp")" && seen >"$stamp"
	echo "$name: installed $dst from $url"
fi

set -eu
name=kubelet dst=/usr/local/bin/kubelet url=http://10.77.0.1:8080/release/v1.21.14/bin/linux/amd64/kubelet sum=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
stamp=/var/lib/kprov/binaries/kubelet
seen() { echo "$sum $(stat -c '%s %Y %i' "$dst")"; }
if [ -f "$dst" ] && [ -x "$dst" ] && { [ "$(cat "$stamp" 2>/dev/null)" = "$(seen)" ] || printf '%s  %s\n' "$sum" "$dst" | sha256sum --check --status; }; then
	[ "$(cat "$stamp" 2>/dev/null)" = "$(seen)" ] || { mkdir -p "$(dirname "$stamp")" && seen >"$stamp"; }
	echo "$name: $dst has sha256 $sum"
else
	tmp=$(mktemp /usr/local/bin/.kubelet.XXXXXXXX)
	trap 'rm -f "$tmp"' EXIT
	trap 'rm -f "$tmp"; exit 1' HUP INT TERM
	curl --fail --silent --show-error --location --globoff --proto '=http,https' --proto-redir '=http,https' --retry 5 --retry-delay 2 --retry-connrefused --connect-timeout 10 --max-time 600 --output "$tmp" "$url"
	if ! printf '%s  %s\n' "$sum" "$tmp" | sha256sum --check --status; then
		echo "$name: $url has sha256 $(sha256sum <"$tmp" | cut -d' ' -f1), want $sum" >&2
		exit 1
	fi
	chmod 0755 "$tmp"
	mv -f "$tmp" "$dst"
	trap - EXIT HUP INT TERM
	mkdir -p "$(dirname "$stamp")" && seen >"$stamp"
	echo "$name: installed $dst from $url"
fi

set -eu
name=kubectl dst=/usr/local/bin/kubectl url=http://10.77.0.1:8080/release/v1.21.14/bin/linux/amd64/kubectl sum=cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc
stamp=/var/lib/kprov/binaries/kubectl
seen() { echo "$sum $(stat -c '%s %Y %i' "$dst")"; }
if [ -f "$dst" ] && [ -x "$dst" ] && { [ "$(cat "$stamp" 2>/dev/null)" = "$(seen)" ] || printf '%s  %s\n' "$sum" "$dst" | sha256sum --check --status; }; then
	[ "$(cat "$stamp" 2>/dev/null)" = "$(seen)" ] || { mkdir -p "$(dirname "$stamp")" && seen >"$stamp"; }
	echo "$name: $dst has sha256 $sum"
else
	tmp=$(mktemp /usr/local/bin/.kubectl.XXXXXXXX)
	trap 'rm -f "$tmp"' EXIT
	trap 'rm -f "$tmp"; exit 1' HUP INT TERM
	curl --fail --silent --show-error --location --globoff --proto '=http,https' --proto-redir '=http,https' --retry 5 --retry-delay 2 --retry-connrefused --connect-timeout 10 --max-time 600 --output "$tmp" "$url"
	if ! printf '%s  %s\n' "$sum" "$tmp" | sha256sum --check --status; then
		echo "$name: $url has sha256 $(sha256sum <"$tmp" | cut -d' ' -f1), want $sum" >&2
		exit 1
	fi
	chmod 0755 "$tmp"
	mv -f "$tmp" "$dst"
	trap - EXIT HUP INT TERM
	mkdir -p "$(dirname "$stamp")" && seen >"$stamp"
	echo "$name: installed $dst from $url"
fi

set -eu
name=crictl dst=/usr/local/bin/crictl url=http://10.77.0.1:8080/cri-tools/v1.30.0/crictl-v1.30.0-linux-amd64.tar.gz sum=dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd
member=crictl version=v1.30.0
stamp=/var/lib/kprov/archives/crictl
if [ -f "$dst" ] && [ -x "$dst" ] && { [ "$(cat "$stamp" 2>/dev/null)" = "$sum $version" ] || [ "$(timeout 30 "$dst" --version 2>/dev/null || true)" = "$name version $version" ]; }; then
	echo "$name: $dst is $version"
else
	tmp=$(mktemp -d /usr/local/bin/.crictl.XXXXXXXX)
	trap 'rm -rf "$tmp"' EXIT
	trap 'rm -rf "$tmp"; exit 1' HUP INT TERM
	curl --fail --silent --show-error --location --globoff --proto '=http,https' --proto-redir '=http,https' --retry 5 --retry-delay 2 --retry-connrefused --connect-timeout 10 --max-time 600 --output "$tmp/archive.tar.gz" "$url"
	if ! printf '%s  %s\n' "$sum" "$tmp/archive.tar.gz" | sha256sum --check --status; then
		echo "$name: $url has sha256 $(sha256sum <"$tmp/archive.tar.gz" | cut -d' ' -f1), want $sum" >&2
		exit 1
	fi
	mkdir "$tmp/x"
	tar -xzf "$tmp/archive.tar.gz" -C "$tmp/x" --no-same-owner --touch -- "$member"
	if [ -h "$tmp/x/$member" ] || [ ! -f "$tmp/x/$member" ]; then
		echo "$name: $url holds no regular file $member" >&2
		exit 1
	fi
	chmod 0755 "$tmp/x/$member"
	mv -f "$tmp/x/$member" "$dst"
	mkdir -p "$(dirname "$stamp")" && echo "$sum $version" >"$stamp"
	rm -rf "$tmp"
	trap - EXIT HUP INT TERM
	echo "$name: installed $dst ($version) from $url"
fi
