package download

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// maxSums bounds a checksum file: Debian's and Ubuntu's list a few dozen
// files.
const maxSums = 1 << 20

// published fills want's sum from the checksum file at want.SumsURL, in
// the format sha256sum and sha512sum write ("HEX  NAME" or "HEX *NAME"),
// the algorithm told by the length of the digest.
func (f *Fetcher) published(ctx context.Context, want Want, name string) (Want, error) {
	if want.SumsName != "" {
		name = want.SumsName
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, want.SumsURL, nil)
	if err != nil {
		return want, err
	}
	resp, err := f.client().Do(req)
	if err != nil {
		return want, f.netError(ctx, want.SumsURL, "", 0, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return want, statusError(want.SumsURL, resp)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxSums+1))
	if err != nil {
		return want, f.netError(ctx, want.SumsURL, "", 0, err)
	}
	if len(body) > maxSums {
		return want, fmt.Errorf("checksum file %s: more than 1 MiB: not a checksum file", want.SumsURL)
	}
	sum, err := Lookup(body, name)
	if err != nil {
		return want, fmt.Errorf("checksum file %s: %w", want.SumsURL, err)
	}
	switch len(sum) {
	case 64:
		if want.SHA256 != "" && !strings.EqualFold(want.SHA256, sum) {
			return want, &ChecksumError{What: "image " + name, Algorithm: "sha256", Want: want.SHA256, Got: sum, From: "the spec (" + want.SumsURL + " publishes the second)"}
		}
		want.SHA256 = sum
	case 128:
		if want.SHA512 != "" && !strings.EqualFold(want.SHA512, sum) {
			return want, &ChecksumError{What: "image " + name, Algorithm: "sha512", Want: want.SHA512, Got: sum, From: "the spec (" + want.SumsURL + " publishes the second)"}
		}
		want.SHA512 = sum
	}
	return want, nil
}

// Lookup finds name's digest in a checksum file.
func Lookup(body []byte, name string) (string, error) {
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, file, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		file = strings.TrimPrefix(strings.TrimLeft(file, " "), "*")
		file = strings.TrimPrefix(file, "./")
		if len(names) < 8 {
			names = append(names, file)
		}
		if file != name {
			continue
		}
		if !isHex(sum) || (len(sum) != 64 && len(sum) != 128) {
			return "", fmt.Errorf("the line for %s holds %q, not a sha256 or sha512 digest", name, sum)
		}
		return strings.ToLower(sum), nil
	}
	if len(names) == 0 {
		return "", fmt.Errorf("no \"DIGEST  NAME\" lines: not a checksum file such as SHA256SUMS")
	}
	return "", fmt.Errorf("no line for %s (it lists %s): set image.checksum_name to the file's name there", name, strings.Join(names, ", "))
}

func isHex(s string) bool {
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return s != ""
}
