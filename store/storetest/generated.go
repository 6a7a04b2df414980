package storetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/crm"
	"github.com/crmlink/crmlink/gen"
	"github.com/crmlink/crmlink/sessionfile"
	"github.com/crmlink/crmlink/traffic"
)

// GeneratedStore generates a data set for a shop in Moscow ending at Epoch
// (cfg gives its seed and sizes), opens a store on that clock with the
// shop's counter, and loads the given files into it. It returns the
// store, the counter, the files' directory and each file's upload.
func GeneratedStore(t *testing.T, open Opener, cfg gen.Config, files ...string) (crmlink.Store, *crmlink.Counter, string, map[string]*crmlink.Upload) {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Out, cfg.End, cfg.Site, cfg.Location = t.TempDir(), Epoch, "shop.example", loc
	if _, err := gen.Generate(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	st := open(t, &crmlink.FixedClock{T: Epoch})
	c := MustCounter(t, st, "Shop", "Europe/Moscow")
	return st, c, cfg.Out, LoadGenerated(t, st, c, cfg.Out, Epoch, files...)
}

// LoadGenerated loads generated files into counter c the way a user's go:
// the generator's status mapping, then each file through its reader, in
// the order given. It returns the upload of each file.
func LoadGenerated(tb testing.TB, st interface {
	crmlink.SessionStore
	crmlink.CRMStore
}, c *crmlink.Counter, dir string, now time.Time, files ...string) map[string]*crmlink.Upload {
	tb.Helper()
	ctx := context.Background()
	if err := st.SetStatusMappings(ctx, c.ID, gen.OrderStatuses()); err != nil {
		tb.Fatal(err)
	}
	loc, err := c.Location()
	if err != nil {
		tb.Fatal(err)
	}
	opt := crm.Options{Location: loc, Now: now, Statuses: crmlink.NewStatusResolver(gen.OrderStatuses())}
	ups := map[string]*crmlink.Upload{}
	for _, name := range files {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			tb.Fatal(err)
		}
		up := &crmlink.Upload{CounterID: c.ID}
		switch name {
		case gen.SessionsFile:
			var r *sessionfile.Reader
			if r, err = sessionfile.NewReader(f, sessionfile.Options{Location: loc, Site: c.Site, Classifier: traffic.New(), Now: now}); err == nil {
				err = st.ImportSessions(ctx, up, r)
			}
		case gen.ContactsFile:
			var r *crm.ContactReader
			if r, err = crm.NewContactCSV(f, opt); err == nil {
				err = st.UploadContacts(ctx, up, r)
			}
		case gen.OrdersFile, gen.SimpleOrdersFile:
			var r *crm.OrderReader
			if name == gen.SimpleOrdersFile {
				up.Entity = crmlink.EntitySimpleOrders
				r, err = crm.NewSimpleOrderCSV(f, opt)
			} else {
				r, err = crm.NewOrderCSV(f, opt)
			}
			if err == nil {
				err = st.UploadOrders(ctx, up, r)
			}
		default:
			tb.Fatalf("LoadGenerated: no reader for %s", name)
		}
		f.Close()
		if err != nil {
			tb.Fatalf("load %s: %v", name, err)
		}
		ups[name] = up
	}
	return ups
}
