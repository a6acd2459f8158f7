package spec

import (
	"fmt"
	"strconv"
	"strings"
)

var sizeUnits = []struct {
	suffix string
	mib    int64
}{
	{"TiB", 1 << 20}, {"Ti", 1 << 20}, {"T", 1 << 20},
	{"GiB", 1 << 10}, {"Gi", 1 << 10}, {"G", 1 << 10},
	{"MiB", 1}, {"Mi", 1}, {"M", 1},
}

// ParseMiB parses a size such as "2GiB", "512MiB" or "1.5GiB" into MiB.
// Units are binary (G, Gi and GiB all mean 2^30 bytes).
func ParseMiB(s string) (int, error) {
	t := strings.TrimSpace(s)
	for _, u := range sizeUnits {
		num, ok := strings.CutSuffix(t, u.suffix)
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
		if err != nil || f <= 0 {
			break
		}
		mib := f * float64(u.mib)
		if mib != float64(int64(mib)) || mib > 1<<40 {
			return 0, fmt.Errorf("size %q is not a whole number of MiB", s)
		}
		return int(mib), nil
	}
	return 0, fmt.Errorf("size %q must be a number with a unit: MiB, GiB or TiB (for example \"2GiB\")", s)
}
