package adminapi

import (
	"context"
	"time"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/platform/schedule"
	"github.com/tenancy/platform/tenant"
)

// The JSON shapes of the operator API; the CLI prints the same ones.

// Tenant is a tenant as operators see it.
type Tenant struct {
	ID        string         `json:"id"`
	Slug      string         `json:"slug"`
	Kind      string         `json:"kind"`
	Name      string         `json:"name"`
	Status    string         `json:"status"`
	DBServer  string         `json:"db_server"`
	Database  string         `json:"database"`
	TimeZone  string         `json:"time_zone"`
	Hosts     []string       `json:"hosts"`
	Settings  map[string]any `json:"settings"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
	// Secrets are each secret's age (never a value): `tenant show` only.
	Secrets []provision.SecretAge `json:"secrets,omitempty"`
	// Backups: show only.
	Backups *BackupSummary `json:"backups,omitempty"`
}

// SecretAges returns a tenant's secret ages for show (the CLI's too),
// nothing for a tenant whose secrets are not all there yet (provisioning,
// purged).
func SecretAges(ctx context.Context, svc *provision.Service, t *tenant.Tenant) ([]provision.SecretAge, error) {
	if t.Status == tenant.StatusProvisioning {
		return nil, nil
	}
	ages, err := svc.SecretAges(ctx, t.Slug)
	if tenant.ErrorCode(err) == tenant.ENotFound {
		return nil, nil
	}
	return ages, err
}

// TenantView converts a tenant; hosts come from the service (base domain).
func TenantView(svc *provision.Service, t *tenant.Tenant) Tenant {
	return Tenant{ID: t.ID, Slug: t.Slug, Kind: string(t.Kind), Name: t.Name, Status: string(t.Status),
		DBServer: t.DBServer, Database: t.Database, TimeZone: t.TimeZone, Hosts: svc.Hosts(t), Settings: t.Settings,
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

// Created is the answer to a creation: the only time the admin password
// is ever shown.
type Created struct {
	ID            string           `json:"id"`
	Slug          string           `json:"slug"`
	Kind          string           `json:"kind"`
	Name          string           `json:"name"`
	Status        string           `json:"status"`
	Database      string           `json:"database"`
	Hosts         []string         `json:"hosts"`
	AdminUsername string           `json:"admin_username"`
	AdminPassword string           `json:"admin_password"`
	Resumed       bool             `json:"resumed"`
	DurationMS    int64            `json:"duration_ms"`
	StepsMS       map[string]int64 `json:"steps_ms"`
}

// CreatedView converts a creation result.
func CreatedView(res *provision.Created) Created {
	t := res.Tenant
	steps := map[string]int64{}
	for k, d := range res.StepDurations {
		steps[k] = d.Milliseconds()
	}
	return Created{ID: t.ID, Slug: t.Slug, Kind: string(t.Kind), Name: t.Name, Status: string(t.Status), Database: t.Database,
		Hosts: res.Hosts, AdminUsername: res.AdminUsername, AdminPassword: res.AdminPassword, Resumed: res.Resumed,
		DurationMS: res.Duration.Milliseconds(), StepsMS: steps}
}

// Migration is one database's migration state or result.
type Migration struct {
	Name    string `json:"name"`
	Kind    string `json:"kind"`
	Version uint   `json:"version"`
	Latest  uint   `json:"latest"`
	Pending int    `json:"pending"`
	Dirty   bool   `json:"dirty"`
	Skipped bool   `json:"skipped"` // in maintenance: not migrated
	Error   string `json:"error,omitempty"`
}

// MigrationViews converts results; errors show their operator-facing text.
func MigrationViews(rs []provision.MigrationResult) []Migration {
	out := make([]Migration, len(rs))
	for i, r := range rs {
		out[i] = Migration{Name: r.Name, Kind: r.Kind, Version: r.Status.Version, Latest: r.Status.Latest,
			Pending: r.Status.Pending, Dirty: r.Status.Dirty, Skipped: r.Skipped}
		if r.Err != nil {
			out[i].Error = ErrorText(r.Err)
		}
	}
	return out
}

// ErrorText is the operator-facing line of an error: the message of a
// platform error, or the whole text of another (operators see migration
// and connection failures; no error built here embeds a secret).
func ErrorText(err error) string {
	if tenant.ErrorCode(err) != tenant.EInternal {
		return tenant.ErrorMessage(err)
	}
	return err.Error()
}

// BackupSummary is a tenant's backup schedule, retention and latest results, as
// `tenant show` and GET /v1/tenants/{slug} show them.
type BackupSummary struct {
	Schedule         string     `json:"schedule"` // the effective cron spec
	ScheduleDefault  bool       `json:"schedule_default"`
	NextBackupAt     *time.Time `json:"next_backup_at,omitempty"`
	Retention        string     `json:"retention"`
	RetentionDefault bool       `json:"retention_default"`
	DrillSchedule    string     `json:"drill_schedule"` // the restore drill's (monthly by default)
	DrillDefault     bool       `json:"drill_default"`
	NextDrillAt      *time.Time `json:"next_drill_at,omitempty"`
	Count            int        `json:"count"` // completed or verified backups held
	LastBackup       *BackupRef `json:"last_backup,omitempty"`
	LastSuccessAt    *time.Time `json:"last_success_at,omitempty"`
	LastVerifiedAt   *time.Time `json:"last_verified_at,omitempty"`
	// ScheduleError says why the tenant's schedule cannot run (an invalid
	// spec stored before it was checked); its backups do not run then.
	ScheduleError string `json:"schedule_error,omitempty"`
}

// BackupRef is one backup in a summary.
type BackupRef struct {
	ID         string     `json:"id"`
	Status     string     `json:"status"`
	Reason     string     `json:"reason"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	DurationMS int64      `json:"duration_ms,omitempty"`
	SizeBytes  int64      `json:"size_bytes,omitempty"`
	Error      string     `json:"error,omitempty"`
}

// BackupSummaryOf summarises t's backups at now from the catalog.
func BackupSummaryOf(ctx context.Context, cat *catalog.DB, t *tenant.Tenant, now time.Time) (*BackupSummary, error) {
	bs, err := cat.Backups(ctx, t.Slug)
	if err != nil {
		return nil, err
	}
	out := &BackupSummary{}
	spec := func(key string, dflt func(*tenant.Tenant) string) (string, bool) {
		v, err := schedule.SettingSpec(key)(t)
		if err != nil {
			out.ScheduleError = tenant.ErrorMessage(err)
		}
		if v == "" {
			return dflt(t), true
		}
		return v, false
	}
	out.Schedule, out.ScheduleDefault = spec(tenant.SettingBackupSchedule, schedule.DefaultBackupSpec)
	out.DrillSchedule, out.DrillDefault = spec(tenant.SettingVerifySchedule, schedule.DefaultVerifySpec)
	next := func(spec string) *time.Time {
		s, err := schedule.ParseSpec(spec, t.TimeZone)
		if err != nil {
			out.ScheduleError = tenant.ErrorMessage(err)
			return nil
		}
		at := s.Next(now)
		return &at
	}
	out.NextBackupAt, out.NextDrillAt = next(out.Schedule), next(out.DrillSchedule)
	_, set := t.Settings[tenant.SettingBackupRetention]
	out.Retention, out.RetentionDefault = t.BackupRetention().String(), !set
	for _, b := range bs { // newest first
		if out.LastBackup == nil {
			out.LastBackup = &BackupRef{ID: b.ID, Status: b.Status, Reason: b.Reason, StartedAt: b.StartedAt,
				FinishedAt: b.FinishedAt, SizeBytes: b.SizeBytes, Error: b.Error}
			if b.FinishedAt != nil {
				out.LastBackup.DurationMS = b.FinishedAt.Sub(b.StartedAt).Milliseconds()
			}
		}
		if b.Status != catalog.BackupCompleted && b.Status != catalog.BackupVerified {
			continue
		}
		out.Count++
		if out.LastSuccessAt == nil {
			out.LastSuccessAt = b.FinishedAt
		}
		if b.VerifiedAt != nil && (out.LastVerifiedAt == nil || b.VerifiedAt.After(*out.LastVerifiedAt)) {
			out.LastVerifiedAt = b.VerifiedAt
		}
	}
	return out, nil
}
