// Command platform is the platform's one binary: the control plane CLI
// (`platform tenant …`, `platform migrate …`) and, later, the server.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/tenancy/platform/platform/adminapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "platform: "+errorLine(err))
		if _, ok := err.(usageError); ok {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line itself.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// errorLine is the one line printed for a failure. Errors of the platform
// carry caller-safe messages; others are shown whole, since the operator
// runs the CLI on their own machine, but never include secrets: no error
// built in this code base embeds one.
func errorLine(err error) string { return adminapi.ErrorText(err) }

const usage = `usage: platform <noun> <verb> [flags]

  platform serve [--http-addr :8080] [--admin-addr 127.0.0.1:8081]
  platform tenant create SLUG --kind restaurant|institution --name NAME [--domain HOST]... [--time-zone TZ] [-o json]
  platform tenant list [--status S] [--kind K] [-o json]
  platform tenant show SLUG [-o json]
  platform tenant suspend|resume SLUG
  platform tenant delete SLUG --yes [--purge]
  platform tenant env SLUG [--reveal]
  platform tenant reset-admin SLUG --yes [-o json]
  platform tenant settings SLUG [--set KEY=VALUE]... [--unset KEY]... [-o json]
  platform tenant seed SLUG [--size small|large] [-o json]
  platform tenant import SLUG --from sqlite:///app.db|mysql://user:pass@host/db|csv:///dir --mapping NAME|FILE [--source NAME] [--dry-run] [-o json]
  platform migrate status [--tenant SLUG] [-o json]
  platform migrate up (--tenant SLUG | --all) [--parallel N] [-o json]
  platform migrate down --tenant SLUG [--steps N] [-o json]
  platform migrate force --tenant SLUG VERSION --yes
  platform migrate create --kind catalog|common|restaurant|institution NAME [--dir migrations]
  platform secrets rotate SLUG [--only jwt_secret,session_secret,...] [-o json]
  platform db-server list [-o json]
  platform db-server set NAME [--host H] [--port P] [--budget N] [-o json]
  platform tenant set SLUG [--backup-schedule S] [--backup-retention R] [--verify-schedule S] [--session-lifetime D] [--session-idle D] [--secret-rotation-days N]
  platform backup run (SLUG | --all [--parallel N]) [-o json]
  platform backup list [SLUG] [-o json] | backup show ID [-o json]
  platform backup verify ID [-o json]
  platform backup prune [SLUG] [--dry-run] [-o json]
  platform backup restore ID --yes [--as NEW-SLUG] [-o json]
  platform healthcheck [--url URL] [--timeout 3s]
  platform version

Configuration comes from the environment: PLATFORM_DATABASE_URL, PLATFORM_DB_ADMIN_URL,
VAULT_ADDR, VAULT_TOKEN, PLATFORM_BASE_DOMAIN; serve also REDIS_URL, PLATFORM_HTTP_ADDR,
PLATFORM_ADMIN_ADDR, PLATFORM_OPERATOR_TOKEN; backups PLATFORM_BACKUP_URL and more
(see README.md and docs/backups.md).
`

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	noun, rest := args[0], args[1:]
	switch noun {
	case "tenant":
		return tenantCmd(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrateCmd(ctx, rest, getenv, stdout, stderr)
	case "serve":
		return serveCmd(ctx, rest, getenv, stderr)
	case "db-server":
		return dbServerCmd(ctx, rest, getenv, stdout)
	case "secrets":
		return secretsCmd(ctx, rest, getenv, stdout)
	case "backup":
		return backupCmd(ctx, rest, getenv, stdout, stderr)
	case "healthcheck":
		return healthcheckCmd(ctx, rest, getenv, stdout)
	case "version":
		return versionCmd(ctx, rest, getenv, stdout)
	}
	return usagef("unknown command %q (try `platform help`)", noun)
}
