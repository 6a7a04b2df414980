package collect

import (
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/traffic"
	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// writeCityDB writes a tiny database in GeoIP2 City's record shape.
func writeCityDB(t *testing.T) string {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	names := func(en string) mmdbtype.Map {
		return mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(en)}}
	}
	_, network, _ := net.ParseCIDR("203.0.113.0/24")
	if err := w.Insert(network, mmdbtype.Map{
		"country":      names("Russia"),
		"subdivisions": mmdbtype.Slice{names("Moscow")},
		"city":         names("Moscow"),
	}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "city.mmdb")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

func TestGeoIP(t *testing.T) {
	geo, err := OpenGeoIP(writeCityDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer geo.Close()
	e := NewEnricher(traffic.New().Classify).WithGeoIP(geo)
	for _, tc := range []struct {
		name, remote, xff, cdn, country, region, city string
	}{
		{"placed by address", "203.0.113.7:5555", "", "", "Russia", "Moscow", "Moscow"},
		{"behind a local proxy", "127.0.0.1:80", "203.0.113.9, 10.0.0.1", "", "Russia", "Moscow", "Moscow"},
		{"a public proxy's header is not trusted", "198.51.100.1:80", "203.0.113.9", "", "", "", ""},
		{"unknown address, CDN header", "198.51.100.1:80", "", "de", "DE", "", ""},
		{"the database wins over the header", "203.0.113.7:5555", "", "US", "Russia", "Moscow", "Moscow"},
	} {
		r := httptest.NewRequest("POST", "/collect/1", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if tc.cdn != "" {
			r.Header.Set("CF-IPCountry", tc.cdn)
		}
		h := crmlink.Hit{Kind: crmlink.HitPageview, URL: "https://shop.example/"}
		e.Enrich(&h, &Request{UserAgent: "Mozilla/5.0 (Windows NT 10.0) Chrome/124.0", Header: r.Header, IP: ClientIP(r)})
		if h.Country != tc.country || h.Region != tc.region || h.City != tc.city {
			t.Errorf("%s: %q/%q/%q, want %q/%q/%q", tc.name, h.Country, h.Region, h.City, tc.country, tc.region, tc.city)
		}
	}
	if _, err := OpenGeoIP(filepath.Join(t.TempDir(), "missing.mmdb")); crmlink.KindOf(err) != crmlink.KindInvalid {
		t.Errorf("missing database: %v", err)
	}
}
