package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Duration is a time.Duration written in Go syntax in YAML: "90s", "2h",
// "1h30m". A plain integer other than 0 is rejected because its unit would be
// a guess.
type Duration time.Duration

// String formats d like time.Duration.String without zero trailing units:
// "2h", "10m", "1h30m".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// MarshalYAML writes d as a string such as "1h30m".
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a duration in Go syntax.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a duration, got %s", describe(n))
	}
	tag := n.ShortTag()
	if tag != "!!str" && tag != "!!int" && tag != "!!float" {
		return fmt.Errorf("expected a duration, got %s", describe(n))
	}
	v, err := time.ParseDuration(n.Value)
	if err == nil && (tag == "!!str" || v == 0) {
		*d = Duration(v)
		return nil
	}
	if _, ferr := strconv.ParseFloat(n.Value, 64); ferr == nil {
		return fmt.Errorf("expected a duration, got %s (use a unit, e.g. \"%ss\")", describe(n), n.Value)
	}
	return fmt.Errorf("expected a duration like \"90s\" or \"1h30m\", got %s", describe(n))
}

// ByteSize is a number of bytes, written in YAML as a plain integer or a
// number with a unit: B, KB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB,
// TiB (powers of 1024). Units are not case-sensitive and may follow a space.
type ByteSize int64

// Byte size units.
const (
	KB ByteSize = 1000
	MB          = 1000 * KB
	GB          = 1000 * MB
	TB          = 1000 * GB

	KiB ByteSize = 1 << 10
	MiB          = 1 << 20
	GiB          = 1 << 30
	TiB          = 1 << 40
)

var byteUnits = []struct {
	name string
	size ByteSize
}{
	// Largest first: String picks the first unit that divides exactly.
	{"TiB", TiB}, {"GiB", GiB}, {"MiB", MiB}, {"KiB", KiB},
	{"TB", TB}, {"GB", GB}, {"MB", MB}, {"KB", KB},
	{"B", 1},
}

// String formats b with the largest unit that divides it exactly: "16MiB",
// "10MB", "1234B".
func (b ByteSize) String() string {
	if b == 0 {
		return "0B"
	}
	for _, u := range byteUnits {
		if b%u.size == 0 {
			return strconv.FormatInt(int64(b/u.size), 10) + u.name
		}
	}
	panic("unreachable")
}

// MarshalYAML writes b as a string with a unit, or as a plain integer when
// no unit larger than a byte divides it.
func (b ByteSize) MarshalYAML() (any, error) {
	if b%KB != 0 && b%KiB != 0 {
		return int64(b), nil
	}
	return b.String(), nil
}

// UnmarshalYAML reads a plain integer or a number with a unit.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	bad := fmt.Errorf("expected a byte size like \"16MiB\", \"10MB\" or 1048576, got %s", describe(n))
	if n.Kind != yaml.ScalarNode {
		return bad
	}
	switch n.ShortTag() {
	case "!!int":
		var v int64
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("byte size %s is out of range", n.Value)
		}
		if v < 0 {
			return fmt.Errorf("a byte size must not be negative, got %s", n.Value)
		}
		*b = ByteSize(v)
		return nil
	case "!!str", "!!float":
		v, err := parseByteSize(n.Value)
		if err != nil {
			if err == errBadSize {
				return bad
			}
			return err
		}
		*b = v
		return nil
	}
	return bad
}

var errBadSize = fmt.Errorf("bad byte size")

func parseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		i = len(s)
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	if num == "" || strings.Count(num, ".") > 1 || num[0] == '.' || num[len(num)-1] == '.' {
		return 0, errBadSize
	}
	size := ByteSize(1)
	if unit != "" {
		found := false
		for _, u := range byteUnits {
			if strings.EqualFold(unit, u.name) {
				size, found = u.size, true
				break
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown unit %q in byte size %q (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", unit, s)
		}
	}
	outOfRange := fmt.Errorf("byte size %q is out of range", s)
	if !strings.Contains(num, ".") {
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v > math.MaxInt64/int64(size) {
			return 0, outOfRange
		}
		return ByteSize(v) * size, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	f *= float64(size)
	if err != nil || f >= math.MaxInt64 {
		return 0, outOfRange
	}
	if f != math.Trunc(f) {
		return 0, fmt.Errorf("byte size %q is not a whole number of bytes", s)
	}
	return ByteSize(f), nil
}
