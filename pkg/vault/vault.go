// Package vault provides ce's store of secrets, encrypted with age, and the
// agent that holds the unlocked key (ce-vault serve).
//
// The vault lives in <state>/vault/ (0700):
//
//	recipient     the public X25519 recipient ("age1...")
//	identity.age  the X25519 identity, age-encrypted with a passphrase (scrypt), armored
//	secrets.db    buntdb: key -> {ciphertext age-encrypted to the recipient, tags, times}
//
// Storing a secret needs only the recipient, so it needs no passphrase;
// reading one needs the identity, which needs the passphrase or the agent.
// The files are ordinary age files: `age -d identity.age` gives an identity
// file that `age -d -i` accepts for any ciphertext in secrets.db. That
// layout, the key syntax (ValidKey) and the agent's methods (Method*) are
// contracts; the rest is implementation.
//
// Nothing here logs, and no error message carries a secret value.
package vault

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/ce-platform/ce/pkg/lockfile"
	"github.com/ce-platform/ce/pkg/statedir"
	"github.com/ce-platform/ce/pkg/store"
)

// File names inside the vault directory.
const (
	RecipientFile = "recipient"
	IdentityFile  = "identity.age"
	SecretsFile   = "secrets.db"
)

// MaxValue is the largest secret value, in bytes.
const MaxValue = 1 << 20

// maxIdentityFile bounds what is read of identity.age and recipient.
const maxIdentityFile = 64 << 10

// defaultWorkFactor is age's own scrypt work factor (2^18): about a second
// to unlock, which is why the agent exists.
const defaultWorkFactor = 18

var workFactor atomic.Int32

func init() { workFactor.Store(defaultWorkFactor) }

// SetWorkFactorForTests sets the scrypt work factor (log2) of identities
// encrypted from now on in this process. Only tests call it, to make
// Init and Passwd cheap; unlocking reads the factor from the file.
func SetWorkFactorForTests(logN int) { workFactor.Store(int32(logN)) }

// Errors. Each is wrapped with what it is about; test with errors.Is.
var (
	ErrNoVault         = errors.New("no vault")
	ErrExists          = errors.New("a vault already exists")
	ErrNotFound        = errors.New("no secret")
	ErrWrongPassphrase = errors.New("wrong passphrase")
	ErrEmptyPassphrase = errors.New("the passphrase is empty")
	ErrTooLarge        = errors.New("the value is too large")
	ErrEmptyValue      = errors.New("the value is empty")
)

// Vault is the vault of one state directory. Its methods are safe for
// concurrent use by goroutines and, through the lock file, by processes.
type Vault struct {
	// Dir is <state>/vault.
	Dir      string
	lockPath string
	store    *store.Store
	// Now is the clock of the created and updated times.
	Now func() time.Time
	// OnCorrupt is called when secrets.db could not be loaded: it was
	// moved to movedTo, and the recovered secrets that could be read from
	// it were copied into a new secrets.db.
	OnCorrupt func(path, movedTo string, recovered int, err error)
}

// Open returns the vault of the state directory. It does no I/O.
func Open(st *statedir.Dir) *Vault {
	return New(st.Path("vault"), st.Lock("vault"))
}

// New returns the vault in dir, guarded by the lock file lockPath.
func New(dir, lockPath string) *Vault {
	v := &Vault{Dir: dir, lockPath: lockPath, Now: time.Now}
	v.store = store.New(filepath.Join(dir, SecretsFile), lockPath)
	v.store.OnCorrupt = v.salvage
	return v
}

// Path returns the path of a file of the vault.
func (v *Vault) Path(name string) string { return filepath.Join(v.Dir, name) }

// Exists reports whether the vault was initialised (its recipient or its
// identity exists).
func (v *Vault) Exists() bool {
	for _, f := range []string{RecipientFile, IdentityFile} {
		if _, err := os.Lstat(v.Path(f)); err == nil {
			return true
		}
	}
	return false
}

func (v *Vault) noVault() error {
	return fmt.Errorf("%w in %s", ErrNoVault, v.Dir)
}

// Init creates the vault: a new X25519 identity, encrypted with passphrase,
// and its recipient. It refuses to touch an existing vault and returns the
// recipient.
func (v *Vault) Init(ctx context.Context, passphrase string) (string, error) {
	if passphrase == "" {
		return "", ErrEmptyPassphrase
	}
	ctx, cancel := lockContext(ctx)
	defer cancel()
	lk, err := lockfile.Acquire(ctx, v.lockPath)
	if err != nil {
		return "", err
	}
	defer lk.Unlock()
	if v.Exists() {
		return "", fmt.Errorf("%w in %s", ErrExists, v.Dir)
	}
	if err := os.MkdirAll(v.Dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", v.Dir, err)
	}
	if err := os.Chmod(v.Dir, 0o700); err != nil {
		return "", err
	}
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return "", err
	}
	sealed, err := sealIdentity(id, passphrase, v.Now())
	if err != nil {
		return "", err
	}
	// The identity first: a recipient without its identity would take
	// secrets nobody can read. A missing recipient is rebuilt by Unlock.
	if err := statedir.WriteFile(v.Path(IdentityFile), sealed, 0o600); err != nil {
		return "", err
	}
	rcpt := id.Recipient().String()
	if err := statedir.WriteFile(v.Path(RecipientFile), []byte(rcpt+"\n"), 0o600); err != nil {
		return "", err
	}
	return rcpt, nil
}

// sealIdentity encrypts id with passphrase, in age-keygen's format.
func sealIdentity(id *age.X25519Identity, passphrase string, now time.Time) ([]byte, error) {
	r, err := age.NewScryptRecipient(passphrase)
	if err != nil {
		return nil, err
	}
	r.SetWorkFactor(int(workFactor.Load()))
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, err := age.Encrypt(aw, r)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "# created: %s\n# public key: %s\n%s\n", now.UTC().Format(time.RFC3339), id.Recipient(), id)
	if err := w.Close(); err != nil {
		return nil, err
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Recipient returns the vault's public recipient.
func (v *Vault) Recipient() (*age.X25519Recipient, error) {
	b, err := readSmall(v.Path(RecipientFile))
	if errors.Is(err, fs.ErrNotExist) {
		if _, ierr := os.Lstat(v.Path(IdentityFile)); ierr == nil {
			return nil, fmt.Errorf("%s is missing: unlocking the vault once (ce-vault get, or ce-vault serve) writes it again", v.Path(RecipientFile))
		}
		return nil, v.noVault()
	}
	if err != nil {
		return nil, err
	}
	r, err := age.ParseX25519Recipient(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("%s is damaged: %v", v.Path(RecipientFile), err)
	}
	return r, nil
}

// Unlock decrypts the identity with passphrase. A wrong passphrase is
// ErrWrongPassphrase and changes nothing. A missing recipient file is
// written again from the identity.
func (v *Vault) Unlock(passphrase string) (*age.X25519Identity, error) {
	sealed, err := readSmall(v.Path(IdentityFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, v.noVault()
	}
	if err != nil {
		return nil, err
	}
	id, err := openIdentity(sealed, passphrase, v.Path(IdentityFile))
	if err != nil {
		return nil, err
	}
	rcpt := id.Recipient().String()
	b, err := readSmall(v.Path(RecipientFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := statedir.WriteFile(v.Path(RecipientFile), []byte(rcpt+"\n"), 0o600); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case strings.TrimSpace(string(b)) != rcpt:
		return nil, fmt.Errorf("%s does not belong to the identity in %s: secrets stored since it changed cannot be read with this vault", v.Path(RecipientFile), v.Path(IdentityFile))
	}
	return id, nil
}

func openIdentity(sealed []byte, passphrase, path string) (*age.X25519Identity, error) {
	if passphrase == "" {
		return nil, ErrEmptyPassphrase
	}
	sid, err := age.NewScryptIdentity(passphrase)
	if err != nil {
		return nil, err
	}
	r, err := age.Decrypt(armor.NewReader(bytes.NewReader(sealed)), sid)
	var nomatch *age.NoIdentityMatchError
	if errors.As(err, &nomatch) {
		return nil, ErrWrongPassphrase
	}
	if err != nil {
		return nil, fmt.Errorf("%s is damaged: %v", path, err)
	}
	plain, err := io.ReadAll(io.LimitReader(r, maxIdentityFile))
	if err != nil {
		return nil, fmt.Errorf("%s is damaged: %v", path, err)
	}
	for _, line := range strings.Split(string(plain), "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, "AGE-SECRET-KEY-1") {
			id, err := age.ParseX25519Identity(line)
			if err != nil {
				return nil, fmt.Errorf("%s holds a damaged identity", path)
			}
			return id, nil
		}
	}
	return nil, fmt.Errorf("%s holds no X25519 identity", path)
}

// Passwd encrypts the identity again under a new passphrase. The secrets
// are untouched: they are encrypted to the identity, not the passphrase.
// With a wrong old passphrase nothing changes.
func (v *Vault) Passwd(ctx context.Context, old, new string) error {
	if new == "" {
		return ErrEmptyPassphrase
	}
	path := v.Path(IdentityFile)
	before, err := readSmall(path)
	if errors.Is(err, fs.ErrNotExist) {
		return v.noVault()
	}
	if err != nil {
		return err
	}
	id, err := openIdentity(before, old, path)
	if err != nil {
		return err
	}
	sealed, err := sealIdentity(id, new, v.Now())
	if err != nil {
		return err
	}
	ctx, cancel := lockContext(ctx)
	defer cancel()
	lk, err := lockfile.Acquire(ctx, v.lockPath)
	if err != nil {
		return err
	}
	defer lk.Unlock()
	// Another passwd may have won the race while scrypt ran.
	if now, err := readSmall(path); err != nil || !bytes.Equal(now, before) {
		return fmt.Errorf("%s changed while the passphrase was being changed; nothing was done, try again", path)
	}
	return statedir.WriteFile(path, sealed, 0o600)
}

func readSmall(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxIdentityFile))
}

// lockContext bounds a wait for the vault's lock as the store bounds its own.
func lockContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, store.DefaultLockTimeout)
}
