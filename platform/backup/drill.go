package backup

import (
	"context"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/tenant"
)

// Drill is the restore drill of the tenant with slug: it verifies the
// tenant's newest completed or verified backup (Verify: checksum, decrypt,
// pg_restore into a scratch database, row counts against the manifest).
// A tenant without such a backup is an error, ENotFound, so that a drill
// finding nothing to restore is alerted on like one that fails.
func (s *Service) Drill(ctx context.Context, slug string) (*VerifyResult, error) {
	bs, err := s.cat.Backups(ctx, slug)
	if err != nil {
		return nil, err
	}
	for _, b := range bs { // newest first
		if b.Status == catalog.BackupCompleted || b.Status == catalog.BackupVerified {
			return s.Verify(ctx, b.ID)
		}
	}
	// A failed verification for the metrics too: nothing could be restored.
	err = tenant.Errorf(tenant.ENotFound, "tenant %q has no completed backup to verify", slug)
	s.observe(RunVerify, time.Now(), err)
	return nil, err
}
