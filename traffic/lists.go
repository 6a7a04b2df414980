package traffic

import (
	"bufio"
	"embed"
	"fmt"
	"strings"

	"github.com/crmlink/crmlink"
)

//go:embed hosts/*.txt
var listFiles embed.FS

// hostLists names the host lists and the kind each gives. Their order does
// not matter: New refuses a pattern that appears in two lists, and the
// longest match decides between lists.
var hostLists = []struct {
	file      string
	kind      crmlink.SourceKind
	needsName bool
}{
	{"saved.txt", crmlink.SourceSaved, true},
	{"search.txt", crmlink.SourceOrganic, true},
	{"social.txt", crmlink.SourceSocial, true},
	{"messenger.txt", crmlink.SourceMessenger, true},
	{"recommend.txt", crmlink.SourceRecommend, true},
	{"webmail.txt", crmlink.SourceEmail, true},
	{"ads.txt", crmlink.SourceAd, true},
	// Link traffic: these only shadow a broader pattern (docs.google.* under
	// google.*); the engine of link traffic is the referring domain.
	{"referral.txt", crmlink.SourceReferral, false},
}

// mediumLists names the utm_medium lists and the kind each gives.
var mediumLists = []struct {
	file string
	kind crmlink.SourceKind
}{
	{"paid_mediums.txt", crmlink.SourceAd},
	{"email_mediums.txt", crmlink.SourceEmail},
	{"social_mediums.txt", crmlink.SourceSocial},
}

const appPrefix = "android-app:"

// hostEntry is what a host pattern resolves to.
type hostEntry struct {
	kind crmlink.SourceKind
	name string
}

// clickID is one ad click id parameter.
type clickID struct {
	param  string // lower case, as in the URL
	system string // the ad system, the session's engine
}

// line is one meaningful line of a list file.
type line struct {
	no    int
	key   string
	value string
}

// readList returns the entries of an embedded list file, without comments
// and blank lines.
func readList(file string) ([]line, error) {
	data, err := listFiles.ReadFile("hosts/" + file)
	if err != nil {
		return nil, err
	}
	var out []line
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	no := 0
	for sc.Scan() {
		no++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		key, value, _ := strings.Cut(text, "\t")
		key = strings.TrimSpace(key)
		value = strings.TrimSpace(value)
		if key == "" && value == "" {
			continue
		}
		if key == "" {
			return nil, fmt.Errorf("%s:%d: entry without a pattern", file, no)
		}
		out = append(out, line{no: no, key: key, value: value})
	}
	return out, sc.Err()
}

// validPattern reports whether p is a host pattern the matcher can use:
// lower-case labels of letters, digits, '-' and '_', optionally ending in
// ".*". Non-ASCII letters are allowed for internationalised domains.
func validPattern(p string) bool {
	p = strings.TrimSuffix(p, ".*")
	if p == "" || len(p) > maxHostLen {
		return false
	}
	for _, label := range strings.Split(p, ".") {
		if label == "" {
			return false
		}
	}
	for _, r := range p {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
		case r >= 0x80 && r != 0xFFFD:
			if strings.ToLower(string(r)) != string(r) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// validPackage reports whether p looks like an Android package name.
func validPackage(p string) bool {
	if p == "" || len(p) > maxHostLen {
		return false
	}
	for _, label := range strings.Split(p, ".") {
		if label == "" {
			return false
		}
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// load fills c from the embedded lists.
func (c *Classifier) load() error {
	c.exact = map[string]hostEntry{}
	c.wild = map[string]hostEntry{}
	c.apps = map[string]hostEntry{}
	c.mediums = map[string]crmlink.SourceKind{}
	c.params = map[string]uint8{}
	seen := map[string]string{} // pattern -> file, to refuse duplicates
	for _, l := range hostLists {
		lines, err := readList(l.file)
		if err != nil {
			return err
		}
		if len(lines) == 0 {
			return fmt.Errorf("%s: empty list", l.file)
		}
		for _, ln := range lines {
			if l.needsName && ln.value == "" {
				return fmt.Errorf("%s:%d: %q has no display name", l.file, ln.no, ln.key)
			}
			if prev, ok := seen[ln.key]; ok {
				return fmt.Errorf("%s:%d: %q is already in %s", l.file, ln.no, ln.key, prev)
			}
			seen[ln.key] = l.file
			e := hostEntry{kind: l.kind, name: ln.value}
			switch {
			case strings.HasPrefix(ln.key, appPrefix):
				pkg := ln.key[len(appPrefix):]
				if !validPackage(pkg) {
					return fmt.Errorf("%s:%d: bad package name %q", l.file, ln.no, pkg)
				}
				c.apps[pkg] = e
			case !validPattern(ln.key):
				return fmt.Errorf("%s:%d: bad host pattern %q", l.file, ln.no, ln.key)
			case strings.HasSuffix(ln.key, ".*"):
				c.wild[strings.TrimSuffix(ln.key, ".*")] = e
			default:
				c.exact[ln.key] = e
			}
		}
	}

	lines, err := readList("clickids.txt")
	if err != nil {
		return err
	}
	for _, ln := range lines {
		if ln.value == "" || len(ln.key) > maxParamLen || strings.ToLower(ln.key) != ln.key {
			return fmt.Errorf("clickids.txt:%d: want a lower-case parameter and an ad system", ln.no)
		}
		if len(c.clickIDs) >= 200 {
			return fmt.Errorf("clickids.txt: too many click ids")
		}
		if _, ok := c.params[ln.key]; ok {
			return fmt.Errorf("clickids.txt:%d: %q twice", ln.no, ln.key)
		}
		c.params[ln.key] = paramClickID + uint8(len(c.clickIDs))
		c.clickIDs = append(c.clickIDs, clickID{param: ln.key, system: ln.value})
	}
	if len(c.clickIDs) == 0 {
		return fmt.Errorf("clickids.txt: empty list")
	}
	for i, name := range utmParams {
		if _, ok := c.params[name]; ok {
			return fmt.Errorf("clickids.txt: %q is a UTM parameter", name)
		}
		c.params[name] = uint8(i)
	}
	c.minParamLen = maxParamLen
	for name := range c.params {
		c.minParamLen = min(c.minParamLen, len(name))
	}

	c.utmEngines = map[utmKey]string{}
	utmLines, err := readList("utm_sources.txt")
	if err != nil {
		return err
	}
	for _, ln := range utmLines {
		src, name, _ := strings.Cut(ln.value, "\t")
		src, name = strings.TrimSpace(src), strings.TrimSpace(name)
		k := utmKey{crmlink.SourceKind(ln.key), src}
		if !k.kind.Valid() || src == "" || name == "" || strings.ToLower(src) != src || len(src) > maxUTMLen {
			return fmt.Errorf("utm_sources.txt:%d: want a source id, a lower-case utm_source and a name", ln.no)
		}
		if _, ok := c.utmEngines[k]; ok {
			return fmt.Errorf("utm_sources.txt:%d: %s %q twice", ln.no, k.kind, src)
		}
		c.utmEngines[k] = name
	}

	for _, l := range mediumLists {
		lines, err := readList(l.file)
		if err != nil {
			return err
		}
		if len(lines) == 0 {
			return fmt.Errorf("%s: empty list", l.file)
		}
		for _, ln := range lines {
			if ln.value != "" || strings.ToLower(ln.key) != ln.key || len(ln.key) > maxMediumLen {
				return fmt.Errorf("%s:%d: want one lower-case medium a line", l.file, ln.no)
			}
			if _, ok := c.mediums[ln.key]; ok {
				return fmt.Errorf("%s:%d: medium %q is in two lists", l.file, ln.no, ln.key)
			}
			c.mediums[ln.key] = l.kind
		}
	}
	return nil
}

// secondLevel lists the labels that, under a two-letter country code, form
// a public suffix of two labels (co.uk, com.tr, ne.jp). A wildcard pattern
// "google.*" reaches across two final labels only when the first is one of
// these, so that google.co.uk matches but google.evil.com does not.
var secondLevel = map[string]bool{
	"co": true, "com": true, "net": true, "org": true, "gov": true, "edu": true,
	"ac": true, "or": true, "ne": true, "go": true, "gob": true, "gv": true,
	"nic": true, "mil": true, "ltd": true, "plc": true, "biz": true, "info": true,
	"web": true, "nom": true, "in": true, "firm": true, "gen": true,
}

// lookupHost returns the entry of the longest pattern matching host (lower
// case), and whether one matched. An exact pattern beats a wildcard one of
// the same length.
func (c *Classifier) lookupHost(host string) (hostEntry, bool) {
	var best hostEntry
	bestLen := 0
	for s := host; ; {
		if e, ok := c.exact[s]; ok {
			best, bestLen = e, len(s)
			break
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			break
		}
		s = s[i+1:]
	}
	i := strings.LastIndexByte(host, '.')
	if i <= 0 {
		return best, bestLen > 0
	}
	// One final label: google.com, www.google.de.
	if e, n := c.lookupWild(host[:i], len(host)-i); n > bestLen {
		best, bestLen = e, n
	}
	// Two final labels: google.co.uk, www.google.com.tr.
	if tld := host[i+1:]; len(tld) == 2 {
		rest := host[:i]
		if j := strings.LastIndexByte(rest, '.'); j > 0 && secondLevel[rest[j+1:]] {
			if e, n := c.lookupWild(rest[:j], len(host)-j); n > bestLen {
				best, bestLen = e, n
			}
		}
	}
	return best, bestLen > 0
}

// lookupWild finds the longest wildcard prefix among the label suffixes of
// base (the host without its final label or labels, which are suffixLen
// bytes including the dot) and returns the entry and the matched length,
// counted over the host as a whole.
func (c *Classifier) lookupWild(base string, suffixLen int) (hostEntry, int) {
	for s := base; ; {
		if e, ok := c.wild[s]; ok {
			return e, len(s) + suffixLen
		}
		i := strings.IndexByte(s, '.')
		if i < 0 {
			return hostEntry{}, 0
		}
		s = s[i+1:]
	}
}

// lookupApp returns the entry of the longest package pattern that is pkg or
// a parent package of it (org.telegram.messenger for org.telegram.messenger.web).
func (c *Classifier) lookupApp(pkg string) (hostEntry, bool) {
	for s := pkg; ; {
		if e, ok := c.apps[s]; ok {
			return e, true
		}
		i := strings.LastIndexByte(s, '.')
		if i < 0 {
			return hostEntry{}, false
		}
		s = s[:i]
	}
}
