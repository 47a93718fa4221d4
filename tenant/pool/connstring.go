package pool

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pgx reads PG* environment variables (PGHOST, PGUSER, PGPASSWORD,
// PGSSLMODE, PGOPTIONS, PGTZ, PGTARGETSESSIONATTRS, PGSERVICE, …) beneath
// any connection string it parses, and there is no option to stop it. So
// the connection string gives every setting pgx would take from them, and
// open overwrites what is left (runtime parameters, TLS, fallbacks): a
// stray variable in the environment of `platform serve` cannot change
// where or how a tenant pool connects.

// serviceName is the service of the manager's own service file (below).
const serviceName = "platform_pool"

// connString is the keyword/value connection string of a target, with
// every setting pgx reads from the environment given explicitly.
func connString(t Target, connectTimeout time.Duration, serviceFile string) string {
	port := t.Port
	if port == 0 {
		port = 5432
	}
	var b strings.Builder
	kv := func(k, v string) {
		b.WriteString(k)
		b.WriteString("='")
		for _, r := range v {
			if r == '\'' || r == '\\' {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		b.WriteString("' ")
	}
	kv("host", t.Host)
	kv("port", strconv.Itoa(port))
	kv("dbname", t.Database)
	kv("user", t.User)
	kv("password", t.Password)
	kv("passfile", "")
	kv("connect_timeout", strconv.Itoa(int((connectTimeout+time.Second-1)/time.Second)))
	kv("sslmode", "disable")
	kv("sslcertmode", "disable")
	kv("sslcert", "")
	kv("sslkey", "")
	kv("sslrootcert", "")
	kv("sslpassword", "")
	kv("sslsni", "1")
	kv("sslnegotiation", "postgres")
	kv("target_session_attrs", "any")
	kv("min_protocol_version", "3.0")
	kv("max_protocol_version", "3.0")
	kv("channel_binding", "prefer")
	kv("require_auth", "")
	if serviceFile != "" {
		kv("service", serviceName)
		kv("servicefile", serviceFile)
	}
	return strings.TrimSuffix(b.String(), " ")
}

// serviceFile exists only while PGSERVICE is set: pgx then reads the named
// service from a service file, and fails if it cannot, whatever the
// connection string says. The connection string then names a service of
// this file, which is empty, so nothing comes from any service file.
type serviceFile struct {
	mu     sync.Mutex
	name   string
	closed bool
}

func (f *serviceFile) path() (string, error) {
	if os.Getenv("PGSERVICE") == "" {
		return "", nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return "", errClosed
	}
	if f.name == "" {
		tmp, err := os.CreateTemp("", "platform-pool-*.conf")
		if err != nil {
			return "", err
		}
		_, err = tmp.WriteString("[" + serviceName + "]\n")
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(tmp.Name())
			return "", err
		}
		f.name = tmp.Name()
	}
	return f.name, nil
}

func (f *serviceFile) remove() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	if f.name != "" {
		os.Remove(f.name)
	}
}
