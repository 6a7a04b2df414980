package collect

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/crmlink/crmlink"
	"github.com/oschwald/maxminddb-golang/v2"
)

// GeoIP looks visitors up in a MaxMind-format database (GeoLite2 or
// GeoIP2 City or Country, or any database with their record shape).
type GeoIP struct {
	db *maxminddb.Reader
}

// OpenGeoIP opens a database file (--geoip).
func OpenGeoIP(path string) (*GeoIP, error) {
	db, err := maxminddb.Open(path)
	if err != nil {
		return nil, crmlink.Errorf(crmlink.KindInvalid, "geoip database %s: %v", path, err)
	}
	return &GeoIP{db: db}, nil
}

// Close releases the database.
func (g *GeoIP) Close() error { return g.db.Close() }

type geoNames struct {
	Names map[string]string `maxminddb:"names"`
}

type geoRecord struct {
	Country      geoNames   `maxminddb:"country"`
	Subdivisions []geoNames `maxminddb:"subdivisions"`
	City         geoNames   `maxminddb:"city"`
}

// Step fills country, region and city by the visitor's address, in
// English as the databases name them. A hit the database does not place
// is left to the CDN headers.
func (g *GeoIP) Step(h *crmlink.Hit, r *Request) {
	if !r.IP.IsValid() {
		return
	}
	var rec geoRecord
	if err := g.db.Lookup(r.IP.Unmap()).Decode(&rec); err != nil {
		return
	}
	h.Country = rec.Country.Names["en"]
	if len(rec.Subdivisions) > 0 {
		h.Region = rec.Subdivisions[0].Names["en"]
	}
	h.City = rec.City.Names["en"]
}

// ClientIP is the visitor's address: the connection's, or, when that is a
// proxy on a private or loopback address, the first X-Forwarded-For (or
// X-Real-IP) address it passed on.
func ClientIP(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	if ip.IsLoopback() || ip.IsPrivate() {
		fwd := r.Header.Get("X-Forwarded-For")
		if first, _, _ := strings.Cut(fwd, ","); strings.TrimSpace(first) != "" {
			if p, err := netip.ParseAddr(strings.TrimSpace(first)); err == nil {
				return p
			}
		}
		if p, err := netip.ParseAddr(strings.TrimSpace(r.Header.Get("X-Real-IP"))); err == nil {
			return p
		}
	}
	return ip
}
