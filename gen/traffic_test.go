package gen

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/sessionfile"
	"github.com/crmlink/crmlink/traffic"
)

// The generator builds each session's landing URL and referrer to have one
// traffic source kind; the classifier must find that kind, or the demo's
// Order sources report would not show what the data set means.

func TestSourceSamplesAgreeWithClassifier(t *testing.T) {
	c := traffic.New()
	seen := map[crmlink.SourceKind]int{}
	bad := 0
	for _, s := range SourceSamples(11, "shop.example", 100_000) {
		seen[s.Kind]++
		if got := c.Classify(s.LandingURL, s.Referrer, "shop.example"); got.Kind != s.Kind {
			if bad++; bad <= 20 {
				t.Errorf("landing %q, referrer %q: classified %s, generated as %s", s.LandingURL, s.Referrer, got.Kind, s.Kind)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of 100000 samples disagree", bad)
	}
	for _, k := range genKinds {
		if seen[k] == 0 {
			t.Errorf("no %s sample", k)
		}
	}
}

// TestSessionsImport reads a generated sessions.csv with the session import
// reader and the classifier, as `crmlink import` does, and checks that every
// row is accepted and gets the source kind it was generated with.
func TestSessionsImport(t *testing.T) {
	cfg := testConfig(t)
	cfg.Sessions = 20_000
	var mu sync.Mutex
	want := map[uint64]crmlink.SourceKind{}
	if _, err := generate(context.Background(), cfg, hooks{session: func(id uint64, k crmlink.SourceKind) {
		mu.Lock()
		want[id] = k
		mu.Unlock()
	}}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(cfg.Out, SessionsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := sessionfile.NewReader(f, sessionfile.Options{
		Format: sessionfile.FormatCSV, Location: cfg.Location, Site: cfg.Site,
		Classifier: traffic.New(), Now: cfg.End,
	})
	if err != nil {
		t.Fatal(err)
	}
	n, bad := 0, 0
	var s crmlink.Session
	for {
		s = crmlink.Session{PurchaseIDs: s.PurchaseIDs[:0]}
		err := rd.Next(&s)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d sessions: %v", n, err)
		}
		n++
		k, ok := want[s.ID]
		if !ok {
			t.Fatalf("session %d was not generated", s.ID)
		}
		if s.Source.Kind != k {
			if bad++; bad <= 20 {
				t.Errorf("session %d (landing %q, referrer %q): imported as %s, generated as %s", s.ID, s.LandingURL, s.Referrer, s.Source.Kind, k)
			}
		}
		if s.Start.After(cfg.End) || s.ClientID == 0 {
			t.Errorf("session %d: start %s, ClientID %d", s.ID, s.Start, s.ClientID)
		}
	}
	if n != cfg.Sessions {
		t.Errorf("imported %d sessions, want %d", n, cfg.Sessions)
	}
	if bad > 0 {
		t.Errorf("%d of %d sessions disagree", bad, n)
	}
}
