package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func TestFrameReader(t *testing.T) {
	in := "a\n\nbcd\n" + strings.Repeat("x", 10) + "\nefg\nlast"
	fr := newFrameReader(iotest.OneByteReader(strings.NewReader(in)), 5)
	var got []string
	for {
		f, err := fr.ReadFrame()
		if errors.Is(err, errFrameTooLong) {
			got = append(got, "<too long>")
			continue
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(f))
	}
	want := []string{"a", "", "bcd", "<too long>", "efg", "last"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q, want %q", got, want)
	}
	// A line of exactly max bytes passes, across buffer refills.
	line := strings.Repeat("y", 200<<10)
	fr = newFrameReader(strings.NewReader(line+"\n"+line+"z\n"), len(line))
	if f, err := fr.ReadFrame(); err != nil || string(f) != line {
		t.Fatalf("max-size line: %v", err)
	}
	if _, err := fr.ReadFrame(); !errors.Is(err, errFrameTooLong) {
		t.Fatalf("max+1 line: %v", err)
	}
	if _, err := fr.ReadFrame(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

// FuzzFrame: the frame reader never panics, never returns a frame over its
// limit or with a newline, and returns the input's lines in order.
func FuzzFrame(f *testing.F) {
	f.Add([]byte("{}\n{\"a\":1}\n"), 4)
	f.Add([]byte("\n\n\nxx"), 1)
	f.Add([]byte(strings.Repeat("z", 300)+"\nok\n"), 16)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		if max <= 0 || max > 1<<20 {
			return
		}
		fr := newFrameReader(bytes.NewReader(data), max)
		var lines [][]byte
		for _, l := range bytes.SplitAfter(data, []byte("\n")) {
			if len(l) > 0 {
				lines = append(lines, bytes.TrimSuffix(l, []byte("\n")))
			}
		}
		for i := 0; ; i++ {
			fr, err := fr.ReadFrame()
			if err == io.EOF {
				if i != len(lines) {
					t.Fatalf("%d frames, want %d", i, len(lines))
				}
				return
			}
			if i >= len(lines) {
				t.Fatalf("frame %d beyond the %d lines", i, len(lines))
			}
			if errors.Is(err, errFrameTooLong) {
				if len(lines[i]) <= max {
					t.Fatalf("line %d of %d bytes called too long (max %d)", i, len(lines[i]), max)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(fr) > max || bytes.IndexByte(fr, '\n') >= 0 || !bytes.Equal(fr, lines[i]) {
				t.Fatalf("frame %d: %q, want %q", i, fr, lines[i])
			}
		}
	})
}

// FuzzDecode: decoding never panics; what decodes as a request encodes
// back to a frame that decodes the same.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"bridge.health"}`,
		`{"jsonrpc":"2.0","id":"a","method":"vault.get","params":{"k":"v"},"timeout_ms":100}`,
		`{"jsonrpc":"2.0","method":"bridge.event","params":{"topic":"t","data":null}}`,
		`{"jsonrpc":"2.0","id":7,"result":{"x":[1,2]}}`,
		`{"jsonrpc":"2.0","id":7,"error":{"code":-32000,"message":"m","data":1}}`,
		`{"jsonrpc":"2.0","id":null,"method":"m\u00e9\n"}`,
		`[1]`, `nul`, `{"id":{}}`, ` `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		m, rerr := decode(frame)
		if rerr != nil {
			if rerr.Code != CodeParseError && rerr.Code != CodeInvalidRequest {
				t.Fatalf("code %d", rerr.Code)
			}
			b := appendError(nil, nil, rerr)
			if !json.Valid(b) {
				t.Fatalf("error frame %q is not JSON", b)
			}
			return
		}
		var b []byte
		switch {
		case m.Method != "":
			b = appendRequest(nil, m.ID, m.Method, m.Params, m.TimeoutMS)
		case m.Error != nil:
			b = appendError(nil, m.ID, m.Error)
		default:
			b = appendResult(nil, m.ID, m.Result)
		}
		if !json.Valid(b) {
			t.Fatalf("re-encoded %q is not JSON", b)
		}
		m2, rerr := decode(b)
		if rerr != nil {
			t.Fatalf("re-encoded %q: %v", b, rerr)
		}
		if m2.Method != m.Method || !bytes.Equal(m2.ID, m.ID) || !bytes.Equal(m2.Params, m.Params) ||
			!bytes.Equal(m2.Result, m.Result) || m2.TimeoutMS != m.TimeoutMS || (m.Error == nil) != (m2.Error == nil) {
			t.Fatalf("%q -> %q: %+v != %+v", frame, b, m, m2)
		}
	})
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"plain.topic", `q"uote`, "back\\slash", "nl\n", "é", "\u2028", "\x00"} {
		var got string
		if err := json.Unmarshal(appendString(nil, s), &got); err != nil || got != s {
			t.Errorf("%q: %q %v", s, got, err)
		}
	}
}
