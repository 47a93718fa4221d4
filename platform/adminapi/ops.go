package adminapi

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
)

// Config is the configuration the operations run with (defaults applied),
// for the operator console: the same service, catalog and proxies.
func (a *Ops) Config() Config { return a.cfg }

// MAC is HMAC-SHA256 of msg keyed with the operator token: a key every
// replica derives alike without sharing another secret (the console's
// CSRF tokens), and that changes with the token.
func (a *Ops) MAC(msg string) []byte {
	m := hmac.New(sha256.New, []byte(a.cfg.Token))
	m.Write([]byte(msg))
	return m.Sum(nil)
}

// Audit records an operator action the service does not record itself
// (the console's logins and logouts) for the operator of ctx; err, the
// action's failure, is returned.
func (a *Ops) Audit(ctx context.Context, action, slug string, details map[string]any, err error) error {
	return a.record(ctx, actorOf(ctx), action, slug, details, err)
}
