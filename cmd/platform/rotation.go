package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/tenancy/platform/platform/provision"
	"github.com/tenancy/platform/tenant"
	"github.com/tenancy/platform/tenant/auth/session"
)

// Automatic secret rotation: every replica of `platform serve` checks
// every PLATFORM_ROTATION_CHECK_INTERVAL (first soon after start) and
// rotates the secrets that reached their tenant's secret_rotation_days;
// the Rotator makes sure one replica does each (docs/rotation.md).

const (
	defaultRotationInterval = time.Hour
	// firstRotationCheck is the longest wait before the first check.
	firstRotationCheck = 30 * time.Second
)

// rotationInterval reads PLATFORM_ROTATION_CHECK_INTERVAL.
func rotationInterval(getenv func(string) string) (time.Duration, error) {
	v := getenv("PLATFORM_ROTATION_CHECK_INTERVAL")
	if v == "" {
		return defaultRotationInterval, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, tenant.Errorf(tenant.EInvalid, "PLATFORM_ROTATION_CHECK_INTERVAL must be a duration such as 1h")
	}
	return d, nil
}

// startRotation makes the server's rotator (sessions end through its
// Redis) and starts the periodic check, which stops with ctx.
func (s *server) startRotation(ctx context.Context, getenv func(string) string) error {
	interval, err := rotationInterval(getenv)
	if err != nil {
		return err
	}
	s.rotator = s.svc.Rotator(session.New(s.redis, session.Options{Timeout: 5 * time.Second}))
	go rotationLoop(ctx, s.rotator, interval, s.log)
	return nil
}

// rotationLoop runs RotateDue now and then until ctx ends.
func rotationLoop(ctx context.Context, r *provision.Rotator, interval time.Duration, log *slog.Logger) {
	timer := time.NewTimer(min(interval, firstRotationCheck))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		started := time.Now()
		done, ran, err := r.RotateDue(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.ErrorContext(ctx, "secret rotation check failed", "err", err)
		case ran:
			log.DebugContext(ctx, "secret rotation check done", "tenants_rotated", len(done), "ms", time.Since(started).Milliseconds())
		}
		timer.Reset(interval)
	}
}
