package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strings"
	"text/tabwriter"

	"github.com/tenancy/platform/platform/catalog"
	"github.com/tenancy/platform/tenant"
)

// dbServerView is a database server as the CLI prints it.
type dbServerView struct {
	Name             string `json:"name"`
	Host             string `json:"host"`
	Port             int    `json:"port"`
	ConnectionBudget int    `json:"connection_budget"`
}

func viewDBServer(s tenant.DBServer) dbServerView {
	return dbServerView{Name: s.Name, Host: s.Host, Port: s.Port, ConnectionBudget: s.ConnectionBudget}
}

// dbServerCmd lists the database servers and changes one. This is the only
// way a stored server changes (creating a tenant never re-points one):
// every tenant on it follows, and running routers learn of it through the
// catalog's notification.
func dbServerCmd(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) == 0 {
		return usagef("db-server: missing verb (list, set)")
	}
	verb, args := args[0], args[1:]
	fs := flag.NewFlagSet("db-server "+verb, flag.ContinueOnError)
	out := outputFlag(fs)
	var host string
	var port, budget int
	switch verb {
	case "list":
	case "set":
		fs.StringVar(&host, "host", "", "where the server listens (host name or IPv4 address)")
		fs.IntVar(&port, "port", 0, "its port")
		fs.IntVar(&budget, "budget", 0, "connections the request path may open to it in total")
	default:
		return usagef("db-server: unknown verb %q", verb)
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if err := checkOutput(*out); err != nil {
		return err
	}
	var change catalog.DBServerChange
	switch verb {
	case "list":
		if len(pos) != 0 {
			return usagef("db-server list: unexpected argument %q", pos[0])
		}
	case "set":
		if len(pos) != 1 {
			return usagef("db-server set: want exactly one NAME, got %d arguments", len(pos))
		}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "host":
				change.Host = &host
			case "port":
				change.Port = &port
			case "budget":
				change.Budget = &budget
			}
		})
		if change.Host == nil && change.Port == nil && change.Budget == nil {
			return usagef("db-server set: nothing to change (--host, --port or --budget)")
		}
	}

	// Only the catalog: no Vault or server admin needed to read or re-point
	// a server, so this works while they are down.
	url := getenv("PLATFORM_DATABASE_URL")
	if url == "" {
		return tenant.Errorf(tenant.EInvalid, "PLATFORM_DATABASE_URL is not set (eval \"$(scripts/dev-services env)\" sets it for development)")
	}
	cat, err := catalog.Open(ctx, url)
	if err != nil {
		return err
	}
	defer cat.Close()

	if verb == "list" {
		ss, err := cat.DBServers(ctx)
		if err != nil {
			return err
		}
		if *out == "json" {
			vs := make([]dbServerView, len(ss))
			for i, s := range ss {
				vs[i] = viewDBServer(s)
			}
			return writeJSON(stdout, vs)
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tHOST\tPORT\tBUDGET")
		for _, s := range ss {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", s.Name, s.Host, s.Port, s.ConnectionBudget)
		}
		return tw.Flush()
	}

	name := pos[0]
	old, updated, err := cat.UpdateDBServer(ctx, name, change)
	details := map[string]any{"name": name}
	if err != nil {
		details["requested"] = requested(change)
	} else {
		if change.Host != nil {
			details["host"] = map[string]any{"from": old.Host, "to": updated.Host}
		}
		if change.Port != nil {
			details["port"] = map[string]any{"from": old.Port, "to": updated.Port}
		}
		if change.Budget != nil {
			details["connection_budget"] = map[string]any{"from": old.ConnectionBudget, "to": updated.ConnectionBudget}
		}
	}
	actor := cliActor(ctx)
	aerr := cat.RecordOperatorAction(context.WithoutCancel(ctx), catalog.OperatorAction{
		Actor: actor.Name, Source: actor.Source, Action: "db_server.set", Failed: err != nil, Details: details})
	if err != nil {
		return err
	}
	if aerr != nil {
		return aerr
	}
	if *out == "json" {
		return writeJSON(stdout, viewDBServer(updated))
	}
	var changes []string
	if old.Host != updated.Host || old.Port != updated.Port {
		changes = append(changes, fmt.Sprintf("address %s:%d -> %s:%d (every tenant on it follows)", old.Host, old.Port, updated.Host, updated.Port))
	}
	if old.ConnectionBudget != updated.ConnectionBudget {
		changes = append(changes, fmt.Sprintf("connection budget %d -> %d", old.ConnectionBudget, updated.ConnectionBudget))
	}
	if len(changes) == 0 {
		changes = append(changes, "unchanged")
	}
	_, err = fmt.Fprintf(stdout, "database server %s: %s\n", name, strings.Join(changes, "; "))
	return err
}

// requested lists what a failed set asked for, for the audit.
func requested(c catalog.DBServerChange) map[string]any {
	m := map[string]any{}
	if c.Host != nil {
		m["host"] = *c.Host
	}
	if c.Port != nil {
		m["port"] = *c.Port
	}
	if c.Budget != nil {
		m["connection_budget"] = *c.Budget
	}
	return m
}

// cliActor is the actor of ctx, or the local user as tenant commands name
// it (cli:<user>).
func cliActor(ctx context.Context) tenant.Actor {
	if a, ok := tenant.ActorFrom(ctx); ok {
		return a
	}
	a := tenant.Actor{Name: "cli", Source: "cli"}
	if u, err := user.Current(); err == nil {
		a.Name = "cli:" + u.Username
	}
	return a
}
