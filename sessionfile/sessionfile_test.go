package sessionfile_test

import (
	"errors"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/sessionfile"
)

// stubClassifier calls everything with a referrer "referral" and everything
// else "direct"; the rules themselves are package traffic's to test.
type stubClassifier struct{}

func (stubClassifier) Classify(landing, referrer, site string) crmlink.TrafficSource {
	if referrer != "" {
		return crmlink.TrafficSource{Kind: crmlink.SourceReferral, Engine: "ref"}
	}
	return crmlink.TrafficSource{Kind: crmlink.SourceDirect}
}

var msk, _ = time.LoadLocation("Europe/Moscow")

func opts(f sessionfile.Format) sessionfile.Options {
	return sessionfile.Options{Format: f, Location: msk, Site: "shop.example", Classifier: stubClassifier{},
		Now: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)}
}

func readAll(t *testing.T, in io.Reader, o sessionfile.Options) ([]crmlink.Session, error) {
	t.Helper()
	r, err := sessionfile.NewReader(in, o)
	if err != nil {
		return nil, err
	}
	var out []crmlink.Session
	for {
		var s crmlink.Session
		err := r.Next(&s)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, s)
	}
}

func TestCSV(t *testing.T) {
	f, err := os.Open("testdata/sessions.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := readAll(t, f, opts(sessionfile.FormatCSV))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("got %d sessions, want 3", len(got))
	}
	want0 := crmlink.Session{ID: 101, ClientID: 1700000000123456789,
		Start: time.Date(2024, 1, 10, 8, 56, 7, 0, time.UTC), Duration: 125 * time.Second, PageViews: 4,
		LandingURL: "https://shop.example/sofa?utm_source=yandex&utm_medium=cpc&yclid=55", Referrer: "https://yandex.ru/",
		Device: crmlink.DeviceMobile, OS: "Android", Browser: "Chrome Mobile", Country: "Russia", Region: "Moscow", City: "Moscow",
		PurchaseIDs: []string{"O-1", "O-2"}, Source: crmlink.TrafficSource{Kind: crmlink.SourceReferral, Engine: "ref"}}
	got[0].Start = got[0].Start.UTC()
	if !reflect.DeepEqual(got[0], want0) {
		t.Errorf("row 1 =\n%+v\nwant\n%+v", got[0], want0)
	}
	if got[1].UserID != "u-1" || !got[1].Start.Equal(time.Date(2024, 1, 10, 15, 0, 0, 0, time.UTC)) || !got[1].Bounce {
		t.Errorf("row 2 = %+v", got[1])
	}
	// No session_id: a stable id derived from client and start.
	if got[2].ID == 0 || !got[2].Start.Equal(time.Date(2024, 1, 11, 8, 0, 0, 0, time.UTC)) || got[2].PageViews != 1 {
		t.Errorf("row 3 = %+v", got[2])
	}
	again, _ := readAll(t, strings.NewReader("client_id,start\n42,2024-01-11T08:00:00Z\n"), opts(sessionfile.FormatCSV))
	if len(again) != 1 || again[0].ID != got[2].ID {
		t.Errorf("derived id not stable: %v vs %d", again, got[2].ID)
	}
}

func TestDelimiters(t *testing.T) {
	for _, in := range []string{
		"\xef\xbb\xbfclient_id;start;city\n7;2024-01-10 10:00;\"Saint Petersburg; Russia\"\n",
		"client_id\tstart\tcity\n7\t2024-01-10 10:00\tSaint Petersburg; Russia\n",
		"\"client_id\",\"start\",\"city\"\n\"7\",\"2024-01-10 10:00\",\"Saint Petersburg; Russia\"\n",
	} {
		got, err := readAll(t, strings.NewReader(in), opts(sessionfile.FormatCSV))
		if err != nil || len(got) != 1 || got[0].ClientID != 7 || got[0].City != "Saint Petersburg; Russia" {
			t.Errorf("%q: %+v, %v", in, got, err)
		}
	}
}

func TestMetricaLogs(t *testing.T) {
	f, err := os.Open("testdata/visits.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := readAll(t, f, opts(sessionfile.FormatMetricaLogs))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %d sessions", len(got))
	}
	a := got[0]
	if a.ID != 18446744073709551615 || a.ClientID != 1700000000123456789 || !a.Start.Equal(time.Date(2024, 1, 10, 8, 56, 7, 0, time.UTC)) {
		t.Errorf("ids/time: %+v", a)
	}
	wantSrc := crmlink.TrafficSource{Kind: crmlink.SourceAd, Engine: "Yandex: Direct", UTMSource: "yandex", UTMCampaign: "spring"}
	if a.Source != wantSrc {
		t.Errorf("source = %+v, want %+v", a.Source, wantSrc)
	}
	if a.Device != crmlink.DeviceMobile || a.OS != "Android 14" || a.Duration != 125*time.Second || a.PageViews != 4 {
		t.Errorf("device etc: %+v", a)
	}
	if !reflect.DeepEqual(a.PurchaseIDs, []string{"O-1", "O'2"}) {
		t.Errorf("purchase ids = %q", a.PurchaseIDs)
	}
	if !reflect.DeepEqual(a.Identities, []crmlink.Identity{{Kind: crmlink.IdentityUserIDHash, Value: "987654321"}}) {
		t.Errorf("identities = %v", a.Identities)
	}
	b := got[1]
	if b.Source.Kind != crmlink.SourceOrganic || b.Source.Engine != "Yandex" || b.LandingURL != "https://shop.example/a\tb" ||
		b.Device != crmlink.DeviceDesktop || len(b.PurchaseIDs) != 0 || len(b.Identities) != 0 {
		t.Errorf("row 2 = %+v", b)
	}
}

func TestMetricaLogsUTCField(t *testing.T) {
	// ym:s:dateTimeUTC is UTC+3 whatever the counter's zone.
	in := "ym:s:visitID\tym:s:clientID\tym:s:dateTimeUTC\n1\t2\t2024-01-10 12:00:00\n"
	o := opts(sessionfile.FormatMetricaLogs)
	o.Location = time.UTC
	got, err := readAll(t, strings.NewReader(in), o)
	if err != nil || len(got) != 1 || !got[0].Start.Equal(time.Date(2024, 1, 10, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("got %+v, %v", got, err)
	}
	// Without Metrica's source, ours is derived from URL and referrer.
	if got[0].Source.Kind != crmlink.SourceDirect {
		t.Errorf("source = %+v", got[0].Source)
	}
}

func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format sessionfile.Format
		in     string
		want   []crmlink.RowError
	}{
		{"empty", sessionfile.FormatCSV, "", []crmlink.RowError{{Line: 1, Reason: "the file is empty: want a header row"}}},
		{"missing column", sessionfile.FormatCSV, "client_id,duration\n1,2\n",
			[]crmlink.RowError{{Line: 1, Column: "start", Reason: "required column is missing from the header"}}},
		{"duplicate column", sessionfile.FormatCSV, "client_id,start,client_id\n",
			[]crmlink.RowError{{Line: 1, Column: "client_id", Reason: "column appears twice in the header (also column 1)"}}},
		{"logs missing fields", sessionfile.FormatMetricaLogs, "ym:s:visitID\tym:s:startURL\n",
			[]crmlink.RowError{
				{Line: 1, Column: "ym:s:clientID", Reason: "required column is missing from the header"},
				{Line: 1, Column: "ym:s:dateTime", Reason: "required column is missing from the header"}}},
		{"bad cells", sessionfile.FormatCSV,
			"client_id,start,duration,device\n" +
				"1,2024-01-10 10:00,5,mobile\n" +
				"x,2024-13-10 10:00,-5,fridge\n" +
				"0,2024-01-10,5,\n" +
				"1,2030-01-10 10:00,5,\n" +
				"1,2024-01-10 10:00\n",
			[]crmlink.RowError{
				{Line: 3, Column: "client_id", Value: "x", Reason: "want a positive integer below 2^64"},
				{Line: 3, Column: "start", Value: "2024-13-10 10:00", Reason: crmlink.ErrDateTime.Error()},
				{Line: 3, Column: "duration", Value: "-5", Reason: "want a whole number from 0 to 604800"},
				{Line: 3, Column: "device", Value: "fridge", Reason: "unknown device: want desktop, mobile, tablet or tv (or 1 to 4)"},
				{Line: 4, Column: "client_id", Value: "0", Reason: "want a positive integer below 2^64"},
				{Line: 4, Column: "start", Value: "2024-01-10", Reason: "a session start needs a time of day, like 2024-01-10 11:56:07"},
				{Line: 5, Column: "start", Value: "2030-01-10 10:00", Reason: "the session starts in the future (wrong time zone or date format?)"},
				{Line: 6, Reason: "the row has 2 fields, the header has 4"},
			}},
		{"not UTF-8", sessionfile.FormatCSV, "client_id,start,city\n1,2024-01-10 10:00,Mosc\xfbw\n",
			[]crmlink.RowError{{Line: 2, Column: "city", Value: "Mosc\xfbw", Reason: "not valid UTF-8: save the file in UTF-8"}}},
		{"quote error", sessionfile.FormatCSV, "client_id,start\n1,2024-01-10 10:00\n2,\"2024-01-10 10:00\n3,x\n",
			[]crmlink.RowError{{Line: 4, Reason: "CSV syntax error at column 5: extraneous or missing \" in quoted-field; reading stopped here"}}},
		{"bad array", sessionfile.FormatMetricaLogs, "ym:s:visitID\tym:s:clientID\tym:s:dateTime\tym:s:purchaseID\tym:s:lastTrafficSource\n" +
			"1\t2\t2024-01-10 10:00:00\t['a'\tad\n" +
			"1\t2\t2024-01-10 10:00:00\t['a\tspaceship\n",
			[]crmlink.RowError{
				{Line: 2, Column: "ym:s:purchaseID", Value: "['a'", Reason: "an array must end with ]"},
				{Line: 3, Column: "ym:s:purchaseID", Value: "['a", Reason: "an array must end with ]"},
				{Line: 3, Column: "ym:s:lastTrafficSource", Value: "spaceship", Reason: "unknown traffic source"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, strings.NewReader(tc.in), opts(tc.format))
			var v *crmlink.ValidationError
			if !errors.As(err, &v) {
				t.Fatalf("error = %v (sessions %v), want a validation error", err, got)
			}
			if !reflect.DeepEqual(v.Errors, tc.want) {
				t.Errorf("errors =\n%#v\nwant\n%#v", v.Errors, tc.want)
			}
		})
	}
}

func utf16LE(s string) []byte {
	b := []byte{0xff, 0xfe}
	for _, r := range s {
		b = append(b, byte(r), byte(r>>8))
	}
	return b
}

// TestNoSilentAcceptance: files that were once read as something else are
// read right or refused naming the problem.
func TestNoSilentAcceptance(t *testing.T) {
	const logsHeader = "ym:s:visitID\tym:s:clientID\tym:s:dateTime"
	for _, tc := range []struct {
		name    string
		format  sessionfile.Format
		in      string
		clients []uint64 // read from a good file
		err     string   // the message, or the first row error's reason
		line    int      // the first row error's line
	}{
		{name: "CR line ends", format: sessionfile.FormatCSV,
			in: "client_id,start,city\r1,2024-01-10 10:00,\"Mos\rcow\"\r2,2024-01-10 11:00,Tver\r", clients: []uint64{1, 2}},
		{name: "CR line ends, a bad row", format: sessionfile.FormatCSV,
			in: "client_id,start,city\r1,2024-01-10 10:00,\"Mos\rcow\"\r2,2024-01-10,Tver\r", err: "a session start needs a time of day", line: 4},
		{name: "CR line ends in Logs API TSV", format: sessionfile.FormatMetricaLogs,
			in: logsHeader + "\r1\t5\t2024-01-10 10:00:00\r2\t6\t2024-01-10 10:00:00", clients: []uint64{5, 6}},
		{name: "UTF-16", format: sessionfile.FormatCSV, in: string(utf16LE("client_id,start\r\n1,2024-01-10 10:00\r\n")),
			err: "the file is UTF-16: save it as UTF-8", line: 1},
		{name: "UTF-16 TSV without a BOM", format: sessionfile.FormatMetricaLogs, in: string(utf16LE(logsHeader + "\n")[2:]),
			err: "the file is UTF-16: save it as UTF-8", line: 1},
		{name: "a NUL", format: sessionfile.FormatCSV, in: "client_id,start,city\n1,2024-01-10 10:00,Tv\x00er\n",
			err: "contains a NUL byte", line: 2},
		{name: "an escaped NUL in TSV", format: sessionfile.FormatMetricaLogs, in: logsHeader + "\tym:s:regionCity\n1\t5\t2024-01-10 10:00:00\tTv\\0er\n",
			err: "contains a NUL byte", line: 2},
		{name: "a header alone", format: sessionfile.FormatCSV, in: "client_id,start\n\n", err: "the file has no rows"},
		{name: "a TSV header alone", format: sessionfile.FormatMetricaLogs, in: logsHeader + "\n", err: "the file has no rows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, strings.NewReader(tc.in), opts(tc.format))
			if tc.err == "" {
				var ids []uint64
				for _, s := range got {
					ids = append(ids, s.ClientID)
				}
				if err != nil || !reflect.DeepEqual(ids, tc.clients) {
					t.Fatalf("read clients %v, %v; want %v", ids, err, tc.clients)
				}
				return
			}
			var v *crmlink.ValidationError
			switch {
			case crmlink.KindOf(err) != crmlink.KindInvalid:
				t.Fatalf("error %v, want %q", err, tc.err)
			case errors.As(err, &v):
				if e := v.Errors[0]; !strings.Contains(e.Reason, tc.err) || e.Line != tc.line {
					t.Errorf("first error %+v, want %q on line %d", e, tc.err, tc.line)
				}
			case tc.line != 0 || !strings.HasPrefix(err.Error(), tc.err):
				t.Errorf("error %v, want %q", err, tc.err)
			}
		})
	}
}

// TestFailingReadsOn: the good rows after a bad one are yielded too, with
// Failing set, so that the store counts every row of the file.
func TestFailingReadsOn(t *testing.T) {
	r, err := sessionfile.NewReader(strings.NewReader("client_id,start\n1,2024-01-10 10:00\n2,tomorrow\n3,2024-01-10 10:00\n"), opts(sessionfile.FormatCSV))
	if err != nil {
		t.Fatal(err)
	}
	var clients []uint64
	var failing []bool
	for {
		var s crmlink.Session
		if err = r.Next(&s); err != nil {
			break
		}
		clients = append(clients, s.ClientID)
		failing = append(failing, r.Failing())
	}
	var v *crmlink.ValidationError
	if !errors.As(err, &v) || v.BadRows != 1 || !reflect.DeepEqual(clients, []uint64{1, 3}) || !reflect.DeepEqual(failing, []bool{false, true}) {
		t.Errorf("read %v (failing %v), %v", clients, failing, err)
	}
}

func FuzzReader(f *testing.F) {
	csvData, _ := os.ReadFile("testdata/sessions.csv")
	tsvData, _ := os.ReadFile("testdata/visits.tsv")
	f.Add(csvData, false)
	f.Add(tsvData, true)
	f.Add([]byte("client_id,start\n1,\"2024-01-10 10:00\n"), false)
	f.Add([]byte("client_id;start\r1;\"2024-01-10\r10:00\"\r\r2;x\x00"), false)
	f.Add([]byte("\xff\xfeymsvisitID"), true)
	f.Fuzz(func(t *testing.T, data []byte, logs bool) {
		format := sessionfile.FormatCSV
		if logs {
			format = sessionfile.FormatMetricaLogs
		}
		r, err := sessionfile.NewReader(strings.NewReader(string(data)), opts(format))
		if err != nil {
			var v *crmlink.ValidationError
			if !errors.As(err, &v) || len(v.Errors) == 0 || v.Errors[0].Line < 1 {
				t.Fatalf("header error %v: want a validation error with a line", err)
			}
			return
		}
		for i := 0; ; i++ {
			var s crmlink.Session
			err := r.Next(&s)
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				var v *crmlink.ValidationError
				if crmlink.KindOf(err) == crmlink.KindInvalid && strings.HasPrefix(err.Error(), "the file has no rows") {
					return
				}
				if !errors.As(err, &v) || len(v.Errors) == 0 {
					t.Fatalf("error %v: want a validation error", err)
				}
				for _, e := range v.Errors {
					if e.Line < 1 {
						t.Fatalf("row error without a line: %+v", e)
					}
				}
				return
			}
			if s.ClientID == 0 || s.ID == 0 || s.Start.Before(time.Unix(0, 0)) {
				t.Fatalf("accepted a session without client, id or a valid start: %+v", s)
			}
			if i > len(data) {
				t.Fatal("more sessions than bytes")
			}
		}
	})
}
