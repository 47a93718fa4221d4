package audit

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
)

// Size caps. Rows come from request input (user agents, usernames typed at
// login), so one request must not be able to write an arbitrarily large row.
const (
	MaxUserAgent   = 512     // characters
	MaxDetailsSize = 8 << 10 // bytes of JSON
	maxText        = 256     // characters of actor, entity, entity id, request id
	maxAction      = 128     // characters
)

// ErrNoAction is returned by Record for an entry without an action: a bug
// of the caller, never a user's mistake.
var ErrNoAction = errors.New("audit: entry without an action")

// Record appends e to the audit log of the database db is connected to.
//
// db may be any connection to a tenant database: the request path's pool
// or transaction (role tenant_<slug>__app, which may only INSERT and
// SELECT the table), or a control-plane connection of the owner role, such
// as the *pgx.Conn that pgadmin.Server.In(ctx, database, owner, fn) hands
// out, for the operations the platform performs on a tenant (secret
// rotation: Actor "operator:cli:<name>" or "operator:api:<name>").
//
// ID and OccurredAt of e are ignored: the database numbers the row and
// sets its time. An empty Outcome means Success; an IP that does not parse
// is stored as NULL; text is made valid UTF-8 and capped (user agent
// MaxUserAgent characters). A UserID that no longer exists (the user was
// deleted meanwhile) is stored as NULL, like the rows that deletion set
// to NULL, with the Actor snapshot kept. Details are redacted (see
// Redact) and capped at MaxDetailsSize bytes of JSON.
//
// A security event should be recorded even when the client has gone:
// pass context.WithoutCancel(ctx) (with a timeout) where the request's
// context may already be cancelled.
func Record(ctx context.Context, db DBTX, e Entry) error {
	sql, args, err := insert(e)
	if err != nil {
		return err
	}
	if _, err := db.Exec(ctx, sql, args...); err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return nil
}

// Queue adds e's INSERT to b, as Record would run it: for a write that
// sends its audit row with its COMMIT in one round trip.
func Queue(b *pgx.Batch, e Entry) error {
	sql, args, err := insert(e)
	if err != nil {
		return err
	}
	b.Queue(sql, args...)
	return nil
}

// InsertFrom returns a statement recording e whose entity id is the SQL
// expression entityID over from (an INSERT … SELECT … FROM from), its
// parameters numbered from $first: to record a row's creation in the same
// statement as the row (WITH row AS (INSERT … RETURNING …) …), one round
// trip and one implicit transaction for both.
func InsertFrom(e Entry, first int, entityID, from string) (string, []any, error) {
	_, args, err := insert(e)
	if err != nil {
		return "", nil, err
	}
	p := func(i int) string { return "$" + strconv.Itoa(first+i) }
	sql := `INSERT INTO audit_log
		(user_id, actor, action, entity, entity_id, outcome, ip, user_agent, request_id, details)
		SELECT (SELECT id FROM users WHERE id = ` + p(0) + `), ` + p(1) + `, ` + p(2) + `, ` + p(3) + `, ` + entityID +
		`, ` + p(4) + `, ` + p(5) + `::inet, ` + p(6) + `, ` + p(7) + `, ` + p(8) + `::jsonb FROM ` + from
	// The entity id comes from the row: its parameter is left out.
	return sql, append(append([]any{}, args[:4]...), args[5:]...), nil
}

// insert is the statement that records e (see Record).
func insert(e Entry) (string, []any, error) {
	action := clean(e.Action, maxAction)
	if strings.TrimSpace(action) == "" {
		return "", nil, ErrNoAction
	}
	outcome := e.Outcome
	switch outcome {
	case "":
		outcome = Success
	case Success, Failure, Denied:
	default:
		return "", nil, fmt.Errorf("audit: unknown outcome %q", outcome)
	}
	details, err := encodeDetails(e.Details)
	if err != nil {
		return "", nil, err
	}
	// The subquery turns the id of a user deleted in the meantime into
	// NULL rather than a foreign-key error that would lose the row.
	return `INSERT INTO audit_log
		(user_id, actor, action, entity, entity_id, outcome, ip, user_agent, request_id, details)
		VALUES ((SELECT id FROM users WHERE id = $1), $2, $3, $4, $5, $6, $7::inet, $8, $9, $10::jsonb)`,
		[]any{e.UserID, nullIfEmpty(clean(e.Actor, maxText)), action,
			nullIfEmpty(clean(e.Entity, maxText)), nullIfEmpty(clean(e.EntityID, maxText)), outcome,
			parseIP(e.IP), nullIfEmpty(clean(e.UserAgent, MaxUserAgent)),
			nullIfEmpty(clean(e.RequestID, maxText)), details}, nil
}

// OperatorActor is the Actor of an operation the control plane performs
// on a tenant: via is "cli" or "api", name the operator.
func OperatorActor(via, name string) string { return "operator:" + via + ":" + name }

// parseIP returns the address of s as text for an inet parameter, or nil
// (NULL) when s is no address. It accepts "host:port" too, as a remote
// address reads, and drops an IPv6 zone, which inet cannot hold.
func parseIP(s string) any {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		ap, perr := netip.ParseAddrPort(s)
		if perr != nil {
			return nil
		}
		a = ap.Addr()
	}
	return a.WithZone("").Unmap().String()
}

// clean makes s storable as PostgreSQL text (valid UTF-8, no NUL) and cuts
// it to at most n characters.
func clean(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = strings.ReplaceAll(s, "\x00", "")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for k := range s {
		if i == n {
			return s[:k]
		}
		i++
	}
	return s
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
