package apidoc

import (
	"net/http"
	"time"

	"github.com/tenancy/platform/tenant/audit"
	"github.com/tenancy/platform/tenant/auth"
	"github.com/tenancy/platform/tenant/resource"
	"github.com/tenancy/platform/tenant/resource/resourcehttp"
)

// The bodies of the identity API (tenant/auth/authhttp, handlers.go), as
// its handlers decode and answer them. The route test checks the paths
// and methods against the app; these shapes follow the handlers by hand.
type (
	loginRequest struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	loginResponse struct {
		Token              string    `json:"token" doc:"a JWT for Authorization: Bearer"`
		ExpiresAt          time.Time `json:"expires_at"`
		MustChangePassword bool      `json:"must_change_password" doc:"true: only change-password, logout and /api/me until it is changed"`
		User               auth.User `json:"user"`
		CSRFToken          string    `json:"csrf_token" doc:"send it as X-CSRF-Token on cookie writes"`
	}
	sessionView struct {
		ID        string    `json:"id"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	meResponse struct {
		User        auth.User   `json:"user"`
		Permissions []string    `json:"permissions"`
		Session     sessionView `json:"session"`
		CSRFToken   string      `json:"csrf_token"`
	}
	updateMeRequest struct {
		Language string `json:"language" doc:"es, en, or empty: follow the browser's Accept-Language"`
	}
	changePasswordRequest struct {
		Current string `json:"current_password"`
		New     string `json:"new_password"`
	}
	resetRequest struct {
		Username string `json:"username"`
	}
	messageResponse struct {
		Message string `json:"message"`
	}
	resetConfirm struct {
		Token string `json:"token" doc:"the token of the reset link"`
		New   string `json:"new_password"`
	}
	createUserRequest struct {
		Username           string   `json:"username"`
		Email              string   `json:"email,omitempty"`
		FullName           string   `json:"full_name"`
		Password           string   `json:"password"`
		Roles              []string `json:"roles"`
		MustChangePassword *bool    `json:"must_change_password,omitempty" doc:"default true: an administrator set the password"`
	}
	updateUserRequest struct {
		Email              *string   `json:"email,omitempty" doc:"\"\" clears it"`
		FullName           *string   `json:"full_name,omitempty"`
		Active             *bool     `json:"active,omitempty"`
		Roles              *[]string `json:"roles,omitempty"`
		MustChangePassword *bool     `json:"must_change_password,omitempty"`
	}
	resetTokenResponse struct {
		Token     string    `json:"token" doc:"shown this once"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	sessionsResponse struct {
		Sessions []auth.SessionInfo `json:"sessions"`
	}
	tenantResponse struct {
		Slug string `json:"slug"`
		Name string `json:"name"`
		Kind string `json:"kind"`
	}
	tenantDBResponse struct {
		Database      string `json:"database"`
		SchemaVersion int64  `json:"schema_version"`
	}
)

// Path of the document itself.
const Path = "/api/openapi.json"

func ptr[T any](v T) *T { return &v }

// Identity returns the routes every tenant serves besides its kind's
// resources: the identity API, the router's tenant routes and this
// document.
func Identity() []Route {
	post, get, patch, del := http.MethodPost, http.MethodGet, http.MethodPatch, http.MethodDelete
	r := func(method, path, summary string, status int) resourcehttp.Route {
		return resourcehttp.Route{Method: method, Path: path, Summary: summary, Status: status}
	}
	authed := []int{401, 403, 429, 503}
	handle := Schema{"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "a session's public handle (GET /api/sessions)"}
	users := func(rt resourcehttp.Route, perm string, errs ...int) Route {
		rt.Perm = perm
		return Route{Route: rt, Errors: append(append([]int{}, authed...), errs...)}
	}
	withBody := func(rt resourcehttp.Route, req, resp, example any) resourcehttp.Route {
		rt.Request, rt.Response, rt.Example = req, resp, example
		return rt
	}
	text := func(name, doc string) resource.Field {
		return resource.Field{Name: name, Type: resource.String, Doc: doc}
	}
	return []Route{
		{Route: withBody(r(post, "/api/auth/login", "Log in", 200), loginRequest{}, loginResponse{},
			loginRequest{Username: "ana.perez", Password: "correct horse battery staple 42"}),
			Public: true, Errors: []int{400, 401, 422, 423, 429, 503}},
		{Route: r(post, "/api/auth/logout", "End the current session", 204), Errors: authed},
		{Route: withBody(r(get, "/api/me", "The current user, permissions and session", 200), nil, meResponse{}, nil),
			Errors: []int{401, 429, 503}},
		{Route: withBody(r(patch, "/api/me", "Change one's own preferences (the screen language; every session of the user follows)", 200),
			updateMeRequest{}, meResponse{}, updateMeRequest{Language: "es"}),
			Errors: append([]int{400, 422}, authed...)},
		{Route: withBody(r(post, "/api/auth/change-password", "Change one's own password", 204), changePasswordRequest{}, nil,
			changePasswordRequest{Current: "clave-antigua-2025", New: "correct horse battery staple 42"}),
			Errors: append([]int{400, 422}, authed...)},
		{Route: withBody(r(post, "/api/auth/password-reset", "Ask for a password reset link by e-mail (202 whether or not the user exists)", 202),
			resetRequest{}, messageResponse{}, resetRequest{Username: "ana.perez"}),
			Public: true, Errors: []int{400, 422, 429, 503}},
		{Route: withBody(r(post, "/api/auth/password-reset/confirm", "Set a new password with a reset token", 204), resetConfirm{}, nil,
			resetConfirm{Token: "3q2-7wYpQ0mJ1x9c8VbN4kLr", New: "correct horse battery staple 42"}),
			Public: true, Errors: []int{400, 422, 429, 503}},

		users(withBody(r(get, "/api/users", "List users", 200), nil, auth.UserPage{}, nil), auth.PermUsersRead, 422).query(
			text("q", "matches username, full name or e-mail"), text("role", "only users with this role"),
			resource.Field{Name: "active", Type: resource.Bool}, resource.Field{Name: "locked", Type: resource.Bool},
			resource.Field{Name: "limit"}, resource.Field{Name: "cursor"}),
		users(withBody(r(post, "/api/users", "Create a user", 201), createUserRequest{}, auth.User{},
			createUserRequest{Username: "ana.perez", Email: "ana.perez@example.com", FullName: "Ana Pérez",
				Password: "correct horse battery staple 42", Roles: []string{"staff"}, MustChangePassword: ptr(true)}),
			auth.PermUsersManage, 400, 409, 422),
		{Route: withBody(r(get, "/api/users/{id}", "Get a user (users.read, or oneself)", 200), nil, auth.User{}, nil),
			Errors: append([]int{404}, authed...)},
		users(withBody(r(patch, "/api/users/{id}", "Change a user", 200), updateUserRequest{}, auth.User{},
			updateUserRequest{FullName: ptr("Ana María Pérez"), Roles: &[]string{"staff", "admin"}}),
			auth.PermUsersManage, 400, 404, 409, 422),
		users(r(del, "/api/users/{id}", "Delete a user", 204), auth.PermUsersManage, 404, 409),
		users(withBody(r(post, "/api/users/{id}/unlock", "Unlock a user locked out by failed logins", 200), nil, auth.User{}, nil),
			auth.PermUsersManage, 404),
		users(withBody(r(post, "/api/users/{id}/password-reset", "Issue a one-time password reset token for a user", 201), nil, resetTokenResponse{}, nil),
			auth.PermUsersManage, 404, 409),

		{Route: withBody(r(get, "/api/sessions", "List live sessions (an administrator: the tenant's; others: their own)", 200), nil, sessionsResponse{}, nil),
			Errors: authed},
		{Route: r(del, "/api/sessions/{id}", "End a session", 204), Params: map[string]Schema{"id": handle},
			Errors: append([]int{404}, authed...)},

		users(withBody(r(get, "/api/audit", "Query the audit log, newest first", 200), nil, audit.Page{}, nil), auth.PermAuditRead, 422).query(
			text("actor", "username, or the actor's id"), text("action", "e.g. user.create, branch.delete"),
			text("entity", "e.g. user, teacher"), text("entity_id", "with entity: one thing"),
			resource.Field{Name: "from", Type: resource.String, Doc: "RFC 3339 time or date, inclusive"},
			resource.Field{Name: "to", Type: resource.String, Doc: "RFC 3339 time or date (the whole day), exclusive"},
			resource.Field{Name: "limit", Type: resource.Int, Min: resource.Int64(1), Max: 500, Doc: "rows per page (default 50)"},
			resource.Field{Name: "cursor"}),

		{Route: withBody(r(get, "/api/tenant", "This tenant's name and kind", 200), nil, tenantResponse{}, nil),
			Public: true, Tag: "tenant", Errors: []int{503}},
		{Route: withBody(r(get, "/api/tenant/db", "Reach this tenant's database: its name and schema version", 200), nil, tenantDBResponse{}, nil),
			Public: true, Tag: "tenant", Errors: []int{503}},
		{Route: withBody(r(get, Path, "This OpenAPI document (of this tenant's kind)", 200), nil, Schema{"type": "object"}, nil),
			Public: true, Tag: "tenant"},
	}
}

// query sets a route's query parameters.
func (rt Route) query(q ...resource.Field) Route {
	rt.Query = q
	return rt
}
