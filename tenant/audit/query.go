package audit

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tenancy/platform/tenant"
)

// Page sizes.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// maxFilterText caps the text filters (the columns hold at most maxText).
const maxFilterText = 256

// Query returns one page of the audit rows f selects, newest first by id
// (ids only grow, so pages are stable: a row written while a client pages
// lands before its first page, never twice nor in a gap). A bad limit,
// cursor or time range is a validation_failed error naming the field.
func Query(ctx context.Context, db DBTX, f Filter) (Page, error) {
	after, err := validate(&f)
	if err != nil {
		return Page{}, err
	}
	var (
		where []string
		args  []any
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.Actor != "" {
		cond := "lower(actor) = lower(" + arg(f.Actor) + ")"
		if id, err := strconv.ParseInt(f.Actor, 10, 64); err == nil {
			cond = "(" + cond + " OR user_id = " + arg(id) + ")"
		}
		where = append(where, cond)
	}
	if f.Action != "" {
		where = append(where, "action = "+arg(f.Action))
	}
	if f.Entity != "" {
		where = append(where, "entity = "+arg(f.Entity))
	}
	if f.EntityID != "" {
		where = append(where, "entity_id = "+arg(f.EntityID))
	}
	if !f.From.IsZero() {
		where = append(where, "occurred_at >= "+arg(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "occurred_at < "+arg(f.To))
	}
	if after > 0 {
		where = append(where, "id < "+arg(after))
	}
	q := `SELECT id, occurred_at, user_id, coalesce(actor, ''), action, coalesce(entity, ''),
		coalesce(entity_id, ''), outcome, coalesce(host(ip), ''), coalesce(user_agent, ''),
		coalesce(request_id, ''), details
		FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	// One row more than the page tells whether another page follows.
	q += " ORDER BY id DESC LIMIT " + arg(f.Limit+1)

	rows, err := db.Query(ctx, q, args...)
	if err != nil {
		return Page{}, fmt.Errorf("audit: query: %w", err)
	}
	defer rows.Close()
	p := Page{Entries: []Entry{}}
	for rows.Next() {
		var e Entry
		if err := rows.Scan(&e.ID, &e.OccurredAt, &e.UserID, &e.Actor, &e.Action, &e.Entity,
			&e.EntityID, &e.Outcome, &e.IP, &e.UserAgent, &e.RequestID, &e.Details); err != nil {
			return Page{}, fmt.Errorf("audit: query: %w", err)
		}
		e.OccurredAt = e.OccurredAt.UTC()
		if e.Details == nil {
			e.Details = map[string]any{}
		}
		p.Entries = append(p.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("audit: query: %w", err)
	}
	if len(p.Entries) > f.Limit {
		p.Entries = p.Entries[:f.Limit]
		p.NextCursor = encodeCursor(p.Entries[f.Limit-1].ID)
	}
	return p, nil
}

// validate applies the defaults to f and checks it; it returns the id the
// cursor points after (0: first page).
func validate(f *Filter) (int64, error) {
	bad := map[string]string{}
	switch {
	case f.Limit == 0:
		f.Limit = DefaultLimit
	case f.Limit < 0 || f.Limit > MaxLimit:
		bad["limit"] = fmt.Sprintf("must be a number from 1 to %d", MaxLimit)
	}
	var after int64
	if f.Cursor != "" {
		var ok bool
		if after, ok = decodeCursor(f.Cursor); !ok {
			bad["cursor"] = "is not a cursor of this listing"
		}
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		bad["to"] = "must be after from"
	}
	for field, v := range map[string]string{"actor": f.Actor, "action": f.Action, "entity": f.Entity, "entity_id": f.EntityID} {
		if len(v) > maxFilterText {
			bad[field] = fmt.Sprintf("must be at most %d characters", maxFilterText)
		}
	}
	return after, tenant.Invalid(bad)
}

// A cursor is the base64url (unpadded) of the last id of a page, in
// decimal. Clients treat it as opaque.
func encodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(id, 10)))
}

func decodeCursor(c string) (int64, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, false
	}
	id, err := strconv.ParseInt(string(b), 10, 64)
	// Only the canonical form, as encodeCursor writes it.
	if err != nil || id < 1 || strconv.FormatInt(id, 10) != string(b) {
		return 0, false
	}
	return id, true
}

// ParseFilter reads a filter from query parameters: actor, action, entity,
// entity_id, from, to, limit and cursor (get returns "" for a missing
// one). Times are RFC 3339 or a date, YYYY-MM-DD, read in UTC: a date in
// from is the start of that day, a date in to includes that day (to is
// exclusive, so it becomes the start of the next). Every bad parameter is
// named in one validation_failed error.
func ParseFilter(get func(key string) string) (Filter, error) {
	// Copies: get may be Fiber's c.Query, whose strings die with the handler.
	param := func(k string) string { return strings.Clone(strings.TrimSpace(get(k))) }
	f := Filter{
		Actor:    param("actor"),
		Action:   param("action"),
		Entity:   param("entity"),
		EntityID: param("entity_id"),
		Cursor:   param("cursor"),
	}
	bad := map[string]string{}
	const timeMsg = "must be an RFC 3339 time or a date (YYYY-MM-DD)"
	if s := strings.TrimSpace(get("from")); s != "" {
		t, _, err := parseTime(s)
		if err != nil {
			bad["from"] = timeMsg
		}
		f.From = t
	}
	if s := strings.TrimSpace(get("to")); s != "" {
		t, date, err := parseTime(s)
		if err != nil {
			bad["to"] = timeMsg
		} else if date {
			t = t.AddDate(0, 0, 1)
		}
		f.To = t
	}
	if s := strings.TrimSpace(get("limit")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			bad["limit"] = fmt.Sprintf("must be a number from 1 to %d", MaxLimit)
		} else {
			f.Limit = n
		}
	}
	// The checks of Query as well, so one answer names every bad field.
	g := f
	if _, err := validate(&g); err != nil {
		for k, v := range tenant.ErrorFields(err) {
			if _, ok := bad[k]; !ok {
				bad[k] = v
			}
		}
	}
	if err := tenant.Invalid(bad); err != nil {
		return Filter{}, err
	}
	return f, nil
}

// parseTime reads an RFC 3339 time or a date; date reports the latter.
func parseTime(s string) (t time.Time, date bool, err error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, true, nil
	}
	t, err = time.Parse(time.RFC3339Nano, s)
	if err != nil && strings.Contains(s, " ") {
		// An unescaped "+01:00" in a query string arrives as " 01:00".
		t, err = time.Parse(time.RFC3339Nano, strings.ReplaceAll(s, " ", "+"))
	}
	return t, false, err
}
