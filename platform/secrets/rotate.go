package secrets

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	vault "github.com/hashicorp/vault/api"

	"github.com/tenancy/platform/tenant"
)

// ErrConflict is returned by Write when the entry's current version is not
// the one the caller read: someone else wrote meanwhile, and nothing of
// this write happened.
var ErrConflict = errors.New("secrets changed meanwhile")

// Custom metadata of a tenant's KV v2 entry (never a secret value):
//
//	rotated_at.<name>  RFC 3339 time <name> last got a new value (written at
//	                   create and by every rotation)
//	pending            names a rotation is changing, comma-separated, set
//	                   before its new version is written and removed once
//	                   everything that follows it is done
//	pending_from       the version that rotation read
//
// A run that finds pending finishes (or forgets) that rotation first: see
// platform/provision's Rotator.
const (
	MetaRotatedAt   = "rotated_at."
	MetaPending     = "pending"
	MetaPendingFrom = "pending_from"
)

// PreviousPassword is the data key holding the login role's old password
// while a db_password rotation has written the new one to Vault but not
// yet to the database server: connections then try both (tenant/pool).
const PreviousPassword = "db_password_previous"

// Versioned is a tenant's secrets with their KV v2 version and metadata.
type Versioned struct {
	Values  map[string]string
	Version int
	Created time.Time            // the entry's first write
	Rotated map[string]time.Time // rotated_at.<name>
	// Pending and PendingFrom describe a rotation that did not finish.
	Pending     []string
	PendingFrom int
}

// RotatedAt is when name last got a new value: its rotated_at, or for an
// entry written before ages were kept, the entry's creation.
func (v *Versioned) RotatedAt(name string) time.Time {
	if at, ok := v.Rotated[name]; ok {
		return at
	}
	return v.Created
}

// Read returns a tenant's current secrets with version and metadata.
func (s *Store) Read(ctx context.Context, slug string) (*Versioned, error) {
	sec, err := s.kv.Get(ctx, s.Path(slug))
	if errors.Is(err, vault.ErrSecretNotFound) {
		return nil, tenant.Errorf(tenant.ENotFound, "tenant %q has no secrets in Vault", slug)
	}
	if err != nil {
		return nil, s.wrap("read secrets of "+slug, err)
	}
	meta, err := s.kv.GetMetadata(ctx, s.Path(slug))
	if err != nil {
		return nil, s.wrap("read secrets metadata of "+slug, err)
	}
	v := &Versioned{Values: map[string]string{}, Created: meta.CreatedTime, Rotated: map[string]time.Time{}}
	if sec.VersionMetadata != nil {
		v.Version = sec.VersionMetadata.Version
	}
	for k, x := range sec.Data {
		if str, ok := x.(string); ok {
			v.Values[k] = str
		}
	}
	// The version's own custom metadata may lag a patch made after it was
	// read; the metadata endpoint's is the current one.
	for k, x := range meta.CustomMetadata {
		str, _ := x.(string)
		switch {
		case strings.HasPrefix(k, MetaRotatedAt):
			if at, err := time.Parse(time.RFC3339Nano, str); err == nil {
				v.Rotated[strings.TrimPrefix(k, MetaRotatedAt)] = at
			}
		case k == MetaPending && str != "":
			v.Pending = strings.Split(str, ",")
		case k == MetaPendingFrom:
			v.PendingFrom, _ = strconv.Atoi(str)
		}
	}
	slices.Sort(v.Pending)
	return v, nil
}

// Write stores values as the entry's next version if its current version
// is still cas (check-and-set), and returns the new version. ErrConflict:
// another writer came first; nothing was written.
func (s *Store) Write(ctx context.Context, slug string, values map[string]string, cas int) (int, error) {
	data := make(map[string]any, len(values))
	for k, v := range values {
		data[k] = v
	}
	sec, err := s.kv.Put(ctx, s.Path(slug), data, vault.WithCheckAndSet(cas))
	if err != nil {
		if isCASMismatch(err) {
			return 0, ErrConflict
		}
		return 0, s.wrap("write secrets of "+slug, err)
	}
	if sec == nil || sec.VersionMetadata == nil {
		return 0, fmt.Errorf("vault: write secrets of %s: no version in the answer", slug)
	}
	return sec.VersionMetadata.Version, nil
}

// SetMeta changes custom metadata keys of a tenant's entry (a JSON merge
// patch): a key with value "" is removed, other keys are kept.
func (s *Store) SetMeta(ctx context.Context, slug string, set map[string]string) error {
	custom := make(map[string]any, len(set))
	for k, v := range set {
		if v == "" {
			custom[k] = nil
		} else {
			custom[k] = v
		}
	}
	if err := s.kv.PatchMetadata(ctx, s.Path(slug), vault.KVMetadataPatchInput{CustomMetadata: custom}); err != nil {
		return s.wrap("write secrets metadata of "+slug, err)
	}
	return nil
}

// RotatedMeta is the metadata patch that records names as rotated at at.
func RotatedMeta(names []string, at time.Time) map[string]string {
	m := make(map[string]string, len(names))
	for _, n := range names {
		m[MetaRotatedAt+n] = at.UTC().Format(time.RFC3339Nano)
	}
	return m
}

// Names returns the template's secret names, sorted.
func (t *Template) Names() []string {
	out := make([]string, len(t.Secrets))
	for i, s := range t.Secrets {
		out[i] = s.Name
	}
	slices.Sort(out)
	return out
}

// GenerateSome draws fresh values for the named secrets only.
func (t *Template) GenerateSome(names []string) (map[string]string, error) {
	all, err := t.Generate()
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(names))
	for _, n := range names {
		v, ok := all[n]
		if !ok {
			return nil, fmt.Errorf("secrets template: no secret %q", n)
		}
		out[n] = v
	}
	return out, nil
}

// cloneValues is maps.Clone that never returns nil.
func cloneValues(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

// With returns a copy of values with the given ones replaced.
func With(values, replace map[string]string) map[string]string {
	out := cloneValues(values)
	maps.Copy(out, replace)
	return out
}
