package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tenancy/platform/platform/platformtest"
)

// TestCreateResumesAfterKill9 kills `platform tenant create` with SIGKILL
// at several moments of its run; running the same command again must
// finish the tenant (or find it finished), with an admin password that
// matches the bcrypt hash in the tenant's database.
func TestCreateResumesAfterKill9(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	bin := filepath.Join(t.TempDir(), "platform")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	env := os.Environ()
	for k, v := range c.env {
		env = append(env, k+"="+v)
	}
	// Warm the template so the kills land inside the tenant's own steps.
	c.ok("tenant", "create", platformtest.Slug("warm"), "--kind", "restaurant", "--name", "Warm")

	for _, delay := range []time.Duration{20, 60, 100, 140, 180, 220, 260} {
		slug := platformtest.Slug("kill")
		args := []string{"tenant", "create", slug, "--kind", "restaurant", "--name", "Kill", "-o", "json"}
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()

		again := exec.Command(bin, args...)
		again.Env = env
		var out, stderr bytes.Buffer
		again.Stdout, again.Stderr = &out, &stderr
		err := again.Run()
		var password string
		switch {
		case err == nil:
			var res map[string]any
			if json.Unmarshal(out.Bytes(), &res) != nil || res["status"] != "active" || res["admin_password"] == "" {
				t.Errorf("kill at %dms: re-run printed %s", delay, out.String())
				continue
			}
			password, _ = res["admin_password"].(string)
		case strings.Contains(stderr.String(), "already exists (active)"):
			// The killed run had finished; only its output (the password)
			// was lost: reset-admin is the way back.
			var res map[string]string
			if err := json.Unmarshal([]byte(c.ok("tenant", "reset-admin", slug, "--yes", "-o", "json")), &res); err != nil {
				t.Fatal(err)
			}
			password = res["admin_password"]
		default:
			t.Errorf("kill at %dms: re-run failed: %v: %s", delay, err, stderr.String())
			continue
		}
		// The password it calls working logs the admin in.
		if !c.passwordWorks(t, slug, password) {
			t.Errorf("kill at %dms: the admin password printed does not match the tenant's admin", delay)
		}
		show := c.ok("tenant", "show", slug, "-o", "json")
		if !strings.Contains(show, `"status": "active"`) {
			t.Errorf("kill at %dms: %s", delay, show)
		}
	}
}
