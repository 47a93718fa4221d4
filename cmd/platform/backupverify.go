package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/tenancy/platform/platform/backup"
)

// verifyBackup runs `platform backup verify ID`: one line with the outcome
// and the counts compared, the table of counts, and an error (non-zero
// exit) unless the backup verified.
func verifyBackup(ctx context.Context, svc *backup.Service, id, format string, w io.Writer) error {
	res, err := svc.Verify(ctx, id)
	if res == nil { // refused: unknown id, not completed, …
		return err
	}
	if format == "json" {
		if jerr := writeJSON(w, res); jerr != nil {
			return jerr
		}
	} else {
		equal := len(res.Tables) - res.Mismatched
		switch res.Outcome {
		case backup.OutcomeVerified:
			fmt.Fprintf(w, "backup %s (%s) verified: %d of %d tables have the manifest's row counts; %s read, %s\n",
				res.BackupID, res.Tenant, equal, len(res.Tables), humanSize(res.SizeBytes), res.Duration.Round(time.Millisecond))
		default:
			fmt.Fprintf(w, "backup %s (%s) %s: %s\n", res.BackupID, res.Tenant, res.Outcome, res.Error)
		}
		if len(res.Tables) > 0 {
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TABLE\tMANIFEST\tRESTORED\t")
			for _, tc := range res.Tables {
				mark := ""
				if tc.Manifest != tc.Restored {
					mark = "differs"
				}
				fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", tc.Table, tc.Manifest, tc.Restored, mark)
			}
			if ferr := tw.Flush(); ferr != nil {
				return ferr
			}
		}
	}
	if err != nil {
		return fmt.Errorf("backup %s %s: %s", res.BackupID, res.Outcome, res.Error)
	}
	return nil
}
