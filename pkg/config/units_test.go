package config

import (
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{"90s", 90 * time.Second, false},
		{"1h30m", 90 * time.Minute, false},
		{"2h", 2 * time.Hour, false},
		{"\"10m\"", 10 * time.Minute, false},
		{"0", 0, false},
		{"0s", 0, false},
		{"-1s", -time.Second, false},
		{"30", 0, true},
		{"1.5", 0, true},
		{"soon", 0, true},
		{"[1s]", 0, true},
		{"true", 0, true},
	} {
		var d Duration
		err := yaml.Unmarshal([]byte(tt.in), &d)
		if (err != nil) != tt.err || (!tt.err && time.Duration(d) != tt.want) {
			t.Errorf("unmarshal %q = %v, %v; want %v, error %v", tt.in, time.Duration(d), err, tt.want, tt.err)
		}
	}
}

func TestDurationString(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                               "0s",
		time.Second:                     "1s",
		10 * time.Minute:                "10m",
		2 * time.Hour:                   "2h",
		90 * time.Minute:                "1h30m",
		time.Hour + 5*time.Second:       "1h0m5s",
		1500 * time.Millisecond:         "1.5s",
		-10 * time.Minute:               "-10m",
		time.Hour + time.Minute + 500e6: "1h1m0.5s",
	} {
		if got := Duration(d).String(); got != want {
			t.Errorf("Duration(%v).String() = %q, want %q", d, got, want)
		}
		back, err := time.ParseDuration(Duration(d).String())
		if err != nil || back != d {
			t.Errorf("%q parses to %v, %v", Duration(d).String(), back, err)
		}
	}
}

func TestByteSize(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want ByteSize
		err  bool
	}{
		{"16MiB", 16 << 20, false},
		{"10MB", 10_000_000, false},
		{"512KiB", 512 << 10, false},
		{"512 kib", 512 << 10, false},
		{"1.5GiB", 3 << 29, false},
		{"1048576", 1 << 20, false},
		{"\"1048576\"", 1 << 20, false},
		{"0x100", 256, false},
		{"7B", 7, false},
		{"1TiB", 1 << 40, false},
		{"9000000TiB", 0, true},
		{"9223372036854775807", 1<<63 - 1, false},
		{"9223372036854775808", 0, true},
		{"-1", 0, true},
		{"-1MiB", 0, true},
		{"MiB", 0, true},
		{"1..5MiB", 0, true},
		{".5MiB", 0, true},
		{"16 XB", 0, true},
		{"1.5", 0, true},
		{"{a: 1}", 0, true},
	} {
		var b ByteSize
		err := yaml.Unmarshal([]byte(tt.in), &b)
		if (err != nil) != tt.err || (!tt.err && b != tt.want) {
			t.Errorf("unmarshal %q = %d, %v; want %d, error %v", tt.in, b, err, tt.want, tt.err)
		}
	}
}

func TestByteSizeMarshal(t *testing.T) {
	for b, want := range map[ByteSize]string{
		0:         "0B\n",
		16 * MiB:  "16MiB\n",
		10 * MB:   "10MB\n",
		3 * KiB:   "3KiB\n",
		1536:      "1536\n",
		1234:      "1234\n",
		1<<63 - 1: "9223372036854775807\n",
	} {
		out, err := yaml.Marshal(b)
		if err != nil || string(out) != want {
			t.Errorf("Marshal(%d) = %q, %v; want %q", b, out, err, want)
		}
		var back ByteSize
		if err := yaml.Unmarshal(out, &back); err != nil || back != b {
			t.Errorf("Unmarshal(%q) = %d, %v; want %d", out, back, err, b)
		}
	}
}
