package vault

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
	"github.com/tidwall/buntdb"
)

// MaxKey is the longest key, in bytes.
const MaxKey = 256

// keyPrefix starts every secret's key in secrets.db, leaving room for
// other records.
const keyPrefix = "secret:"

var (
	segmentRE = regexp.MustCompile(`^[a-z0-9._-]+$`)
	tagRE     = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
)

// ValidKey checks a key: three segments, category/service/name, each of
// lower-case letters, digits, '.', '_' and '-', such as
// "api/github/token". The error does not repeat the key: a value typed
// where the key belongs must not end up in a message.
func ValidKey(key string) error {
	const form = "keys are category/service/name, e.g. api/github/token, using a-z 0-9 . _ -"
	switch {
	case key == "":
		return fmt.Errorf("the key is empty: %s", form)
	case len(key) > MaxKey:
		return fmt.Errorf("the key is %d bytes long, at most %d are allowed", len(key), MaxKey)
	}
	parts := strings.Split(key, "/")
	if len(parts) != 3 {
		return fmt.Errorf("the key has %d segment(s), not 3: %s", len(parts), form)
	}
	for i, p := range parts {
		switch {
		case p == "":
			return fmt.Errorf("segment %d of the key is empty: %s", i+1, form)
		case p == "." || p == "..":
			return fmt.Errorf("segment %d of the key is %q: %s", i+1, p, form)
		case !segmentRE.MatchString(p):
			return fmt.Errorf("segment %d of the key has characters other than a-z 0-9 . _ -: %s", i+1, form)
		}
	}
	return nil
}

// ValidTag checks a tag: 1 to 64 letters, digits, '.', '_', ':' or '-'.
func ValidTag(tag string) error {
	if !tagRE.MatchString(tag) {
		return errors.New("a tag must be 1 to 64 letters, digits, '.', '_', ':' or '-'")
	}
	return nil
}

// Entry is what is known about a secret without decrypting it.
type Entry struct {
	Key     string    `json:"key"`
	Tags    []string  `json:"tags"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Source says who stored it last: "cli", or "session:<name>".
	Source string `json:"source,omitempty"`
}

// record is a secret in secrets.db.
type record struct {
	Ciphertext []byte    `json:"ct"`
	Tags       []string  `json:"tags,omitempty"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
	Source     string    `json:"source,omitempty"`
}

func (r record) entry(key string) Entry {
	tags := r.Tags
	if tags == nil {
		tags = []string{}
	}
	return Entry{Key: key, Tags: tags, Created: r.Created, Updated: r.Updated, Source: r.Source}
}

// SetOptions qualify a Set.
type SetOptions struct {
	// Tags replace the secret's tags; nil keeps those of a secret being
	// replaced.
	Tags []string
	// Source is recorded as who stored the secret.
	Source string
	// NoReplace makes Set fail with ErrExists-like error when the key is
	// taken.
	NoReplace bool
}

// ExistsError is Set's error for a taken key under NoReplace.
type ExistsError struct{ Key string }

func (e *ExistsError) Error() string { return fmt.Sprintf("secret %q already exists", e.Key) }

// Set encrypts value to the vault's recipient and stores it under key. It
// needs no passphrase. It reports whether an existing secret was replaced.
func (v *Vault) Set(ctx context.Context, key string, value []byte, opts SetOptions) (Entry, bool, error) {
	if err := ValidKey(key); err != nil {
		return Entry{}, false, err
	}
	if err := checkValue(value); err != nil {
		return Entry{}, false, err
	}
	for _, t := range opts.Tags {
		if err := ValidTag(t); err != nil {
			return Entry{}, false, err
		}
	}
	rcpt, err := v.Recipient()
	if err != nil {
		return Entry{}, false, err
	}
	ct, err := encrypt(rcpt, value)
	if err != nil {
		return Entry{}, false, err
	}
	var out Entry
	replaced := false
	err = v.store.Update(ctx, func(tx *buntdb.Tx) error {
		now := v.Now().UTC()
		rec := record{Ciphertext: ct, Created: now, Updated: now, Source: opts.Source}
		if old, ok, err := get(tx, key); err != nil {
			return err
		} else if ok {
			if opts.NoReplace {
				return &ExistsError{Key: key}
			}
			replaced = true
			rec.Created = old.Created
			rec.Tags = old.Tags
		}
		if opts.Tags != nil {
			rec.Tags = dedup(opts.Tags)
		}
		b, err := json.Marshal(rec)
		if err != nil {
			return err
		}
		if _, _, err := tx.Set(keyPrefix+key, string(b), nil); err != nil {
			return err
		}
		out = rec.entry(key)
		return nil
	})
	return out, replaced, err
}

func checkValue(value []byte) error {
	switch {
	case len(value) == 0:
		return ErrEmptyValue
	case len(value) > MaxValue:
		return fmt.Errorf("%w: %d bytes, at most %d (1 MiB) can be stored", ErrTooLarge, len(value), MaxValue)
	}
	return nil
}

func dedup(tags []string) []string {
	out := slices.Clone(tags)
	slices.Sort(out)
	return slices.Compact(out)
}

func encrypt(rcpt age.Recipient, value []byte) ([]byte, error) {
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rcpt)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(value); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func get(tx *buntdb.Tx, key string) (record, bool, error) {
	s, err := tx.Get(keyPrefix + key)
	if errors.Is(err, buntdb.ErrNotFound) {
		return record{}, false, nil
	}
	if err != nil {
		return record{}, false, err
	}
	var r record
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return record{}, false, fmt.Errorf("the record of %q in secrets.db is damaged: %v", key, err)
	}
	return r, true, nil
}

func (v *Vault) notFound(key string) error { return fmt.Errorf("%w %q", ErrNotFound, key) }

// Lookup returns what is known about one secret, without decrypting it.
func (v *Vault) Lookup(ctx context.Context, key string) (Entry, error) {
	r, err := v.read(ctx, key)
	if err != nil {
		return Entry{}, err
	}
	return r.entry(key), nil
}

func (v *Vault) read(ctx context.Context, key string) (record, error) {
	if err := ValidKey(key); err != nil {
		return record{}, err
	}
	if !v.Exists() {
		return record{}, v.noVault()
	}
	var r record
	var ok bool
	err := v.store.View(ctx, func(tx *buntdb.Tx) error {
		var err error
		r, ok, err = get(tx, key)
		return err
	})
	if err != nil {
		return record{}, err
	}
	if !ok {
		return record{}, v.notFound(key)
	}
	return r, nil
}

// Get decrypts the secret stored under key with the identity.
func (v *Vault) Get(ctx context.Context, id age.Identity, key string) ([]byte, error) {
	r, err := v.read(ctx, key)
	if err != nil {
		return nil, err
	}
	return decrypt(id, key, r.Ciphertext)
}

func decrypt(id age.Identity, key string, ct []byte) ([]byte, error) {
	rd, err := age.Decrypt(bytes.NewReader(ct), id)
	var nomatch *age.NoIdentityMatchError
	if errors.As(err, &nomatch) {
		return nil, fmt.Errorf("secret %q was encrypted to another identity than this vault's", key)
	}
	if err != nil {
		return nil, fmt.Errorf("secret %q is damaged: %v", key, err)
	}
	value, err := io.ReadAll(io.LimitReader(rd, MaxValue+1))
	if err != nil {
		return nil, fmt.Errorf("secret %q is damaged: %v", key, err)
	}
	return value, nil
}

// Filter selects secrets in List.
type Filter struct {
	// Tag, when set, keeps the secrets with this tag.
	Tag string
	// Prefix, when set, keeps the keys that start with it.
	Prefix string
}

// List returns the secrets' entries, sorted by key. It never decrypts.
func (v *Vault) List(ctx context.Context, f Filter) ([]Entry, error) {
	if !v.Exists() {
		return nil, v.noVault()
	}
	out := []Entry{}
	var bad error
	err := v.store.View(ctx, func(tx *buntdb.Tx) error {
		return tx.AscendGreaterOrEqual("", keyPrefix+f.Prefix, func(k, val string) bool {
			if !strings.HasPrefix(k, keyPrefix+f.Prefix) {
				return false
			}
			key := strings.TrimPrefix(k, keyPrefix)
			var r record
			if err := json.Unmarshal([]byte(val), &r); err != nil {
				if bad == nil {
					bad = fmt.Errorf("the record of %q in secrets.db is damaged: %v", key, err)
				}
				return true
			}
			if f.Tag != "" && !slices.Contains(r.Tags, f.Tag) {
				return true
			}
			out = append(out, r.entry(key))
			return true
		})
	})
	if err != nil {
		return nil, err
	}
	return out, bad
}

// Remove deletes the secret stored under key.
func (v *Vault) Remove(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if !v.Exists() {
		return v.noVault()
	}
	return v.store.Update(ctx, func(tx *buntdb.Tx) error {
		_, err := tx.Delete(keyPrefix + key)
		if errors.Is(err, buntdb.ErrNotFound) {
			return v.notFound(key)
		}
		return err
	})
}
