package gen

import (
	"strconv"

	"github.com/crmlink/crmlink"
)

// Traffic source mix. A visitor's first session in the window comes from a
// search, an ad or a link more often than later ones, which are more often
// direct or from a mailing: that is what makes last, first and
// last-significant attribution differ on this data.
var (
	genKinds = []crmlink.SourceKind{
		crmlink.SourceOrganic, crmlink.SourceAd, crmlink.SourceDirect, crmlink.SourceReferral,
		crmlink.SourceSocial, crmlink.SourceMessenger, crmlink.SourceRecommend, crmlink.SourceEmail,
		crmlink.SourceInternal,
	}
	firstKinds = newChoice(34, 28, 10, 7, 7, 4, 5, 4, 1)
	laterKinds = newChoice(24, 16, 31, 5, 6, 5, 3, 8, 2)

	pathChoice      = newChoice(18, 22, 30, 5, 8, 3, 2, 2, 5, 5)
	socialChoice    = choiceOf(socialReferrers)
	messengerChoice = choiceOf(messengerReferrers)
	productChoice   = func() choice {
		w := make([]float64, len(catalogue))
		for i, p := range catalogue {
			w[i] = p.weight
		}
		return newChoice(w...)
	}()
)

// sourceBuilder writes the landing URL and referrer of one session.
type sourceBuilder struct {
	site     string
	landing  []byte
	referrer []byte
	query    bool // landing already has a '?'
	// ad is the session's ad platform and campaign, src*len(campaigns)+camp
	// (adSources), or -1.
	ad int
}

// build picks the source kind of a session and writes its URLs; reg is the
// device's region (for Yandex's lr= parameter).
func (sb *sourceBuilder) build(r *rng, first bool, reg int) crmlink.SourceKind {
	var kind crmlink.SourceKind
	if first {
		kind = genKinds[firstKinds.pick(r)]
	} else {
		kind = genKinds[laterKinds.pick(r)]
	}
	sb.landing = append(append(sb.landing[:0], "https://"...), sb.site...)
	sb.referrer = sb.referrer[:0]
	sb.query = false
	sb.ad = -1
	sb.landing = sb.appendPath(r, sb.landing, true)

	switch kind {
	case crmlink.SourceOrganic:
		q := searchQueries[r.IntN(len(searchQueries))]
		switch e := r.IntN(100); {
		case e < 35:
			sb.referrer = append(append(sb.referrer, "https://yandex.ru/search/?text="...), q...)
			if lr := regions[reg].yandexLR; lr != 0 {
				sb.referrer = strconv.AppendInt(append(sb.referrer, "&lr="...), int64(lr), 10)
			}
		case e < 45:
			sb.referrer = append(append(sb.referrer, "https://ya.ru/search/?text="...), q...)
		case e < 58:
			sb.referrer = append(sb.referrer, "https://yandex.ru/"...)
		case e < 78:
			sb.referrer = append(sb.referrer, "https://www.google.com/"...)
		case e < 90:
			sb.referrer = append(sb.referrer, "https://www.google.ru/"...)
		case e < 94:
			sb.referrer = append(append(sb.referrer, "https://go.mail.ru/search?q="...), q...)
		case e < 97:
			sb.referrer = append(sb.referrer, "https://www.bing.com/"...)
		default:
			sb.referrer = append(sb.referrer, "https://duckduckgo.com/"...)
		}

	case crmlink.SourceAd:
		ci := r.IntN(len(campaigns))
		camp := campaigns[ci]
		switch e := r.IntN(100); {
		case e < 62: // Yandex Direct: UTM tags and a yclid
			sb.ad = ci
			sb.param("utm_source", "yandex")
			sb.param("utm_medium", adMedium(0, ci))
			sb.param("utm_campaign", camp)
			// utm_content={ad_id}: each campaign runs a dozen ads.
			sb.landing = strconv.AppendInt(sb.sep("utm_content"), 16_000_000_000+int64(ci)*1000+r.Int64N(12), 10)
			sb.param("utm_term", searchQueries[r.IntN(len(searchQueries))])
			sb.landing = strconv.AppendInt(sb.sep("yclid"), 1_000_000_000_000_000+r.Int64N(9_000_000_000_000_000), 10)
			switch e := r.IntN(100); {
			case e < 45:
				sb.referrer = append(sb.referrer, "https://yandex.ru/"...)
			case e < 60:
				sb.referrer = append(sb.referrer, "https://ya.ru/"...)
			}
		case e < 88: // Google Ads: gclid, usually with UTM tags
			sb.ad = len(campaigns) + ci
			if r.IntN(100) < 70 {
				sb.param("utm_source", "google")
				sb.param("utm_medium", "cpc")
				sb.param("utm_campaign", camp)
			}
			sb.landing = append(sb.sep("gclid"), "EAIaIQobChMI"...)
			for range 60 {
				sb.landing = append(sb.landing, base64URL[r.IntN(64)])
			}
			if r.IntN(2) == 0 {
				sb.referrer = append(sb.referrer, "https://www.google.com/"...)
			}
		default: // VK Ads: UTM tags, and rb_clickid where the ad has click tracking on
			sb.ad = 2*len(campaigns) + ci
			sb.param("utm_source", "vk")
			sb.param("utm_medium", "cpc")
			sb.param("utm_campaign", camp)
			if r.IntN(100) < 70 {
				sb.landing = sb.sep("rb_clickid")
				for range 24 {
					sb.landing = append(sb.landing, hexDigits[r.IntN(16)])
				}
			}
			if r.IntN(2) == 0 {
				sb.referrer = append(sb.referrer, "https://vk.com/"...)
			}
		}

	case crmlink.SourceDirect:
		// No referrer, no tags.

	case crmlink.SourceReferral:
		if r.IntN(100) < 75 {
			site := referralSites[r.IntN(len(referralSites))]
			sb.referrer = append(sb.referrer, site...)
			sb.referrer = strconv.AppendInt(sb.referrer, 100_000+r.Int64N(9_000_000), 10)
			if site[len(site)-1] == '/' && r.IntN(2) == 0 {
				sb.referrer = append(sb.referrer, '/')
			}
		} else { // a partner link with non-paid tags and no referrer
			sb.param("utm_source", partnerSources[r.IntN(len(partnerSources))])
			sb.param("utm_medium", "referral")
		}

	case crmlink.SourceSocial:
		sb.referrer = append(sb.referrer, socialReferrers[socialChoice.pick(r)].name...)

	case crmlink.SourceMessenger:
		sb.referrer = append(sb.referrer, messengerReferrers[messengerChoice.pick(r)].name...)
		if sb.referrer[8] == 't' { // t.me/<channel>/<post>
			sb.referrer = append(sb.referrer, telegramChannels[r.IntN(len(telegramChannels))]...)
			sb.referrer = strconv.AppendInt(append(sb.referrer, '/'), 1+r.Int64N(5000), 10)
		}

	case crmlink.SourceRecommend:
		p := recommendReferrers[r.IntN(len(recommendReferrers))]
		sb.referrer = append(sb.referrer, p...)
		if p[len(p)-2] != 'u' { // not the bare https://dzen.ru/
			for range 24 {
				sb.referrer = append(sb.referrer, base62[r.IntN(62)])
			}
		}

	case crmlink.SourceEmail:
		if r.IntN(100) < 80 {
			sb.param("utm_source", mailers[r.IntN(len(mailers))])
			sb.param("utm_medium", "email")
			sb.param("utm_campaign", promos[r.IntN(len(promos))])
			if r.IntN(100) < 40 {
				sb.referrer = append(sb.referrer, webmails[r.IntN(len(webmails))]...)
			}
		} else { // a plain link in a letter, opened in webmail
			sb.referrer = append(sb.referrer, webmails[r.IntN(len(webmails))]...)
		}

	case crmlink.SourceInternal:
		sb.referrer = append(append(sb.referrer, "https://"...), sb.site...)
		sb.referrer = sb.appendPath(r, sb.referrer, false)
	}
	return kind
}

const (
	hexDigits = "0123456789abcdef"
	base64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	base62    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

// sep appends the separator before a landing URL parameter and its name.
func (sb *sourceBuilder) sep(name string) []byte {
	if sb.query {
		sb.landing = append(sb.landing, '&')
	} else {
		sb.landing = append(sb.landing, '?')
		sb.query = true
	}
	return append(append(sb.landing, name...), '=')
}

// param appends name=value (value already escaped) to the landing URL.
func (sb *sourceBuilder) param(name, value string) {
	sb.landing = append(sb.sep(name), value...)
}

// appendPath appends a page path of the shop; landing says whether the
// query it may carry makes the landing URL's parameters continue with '&'.
func (sb *sourceBuilder) appendPath(r *rng, b []byte, landing bool) []byte {
	switch pathChoice.pick(r) {
	case 0:
		b = append(b, '/')
	case 1:
		b = append(append(append(b, "/catalog/"...), categories[r.IntN(len(categories))]...), '/')
	case 2:
		p := &catalogue[productChoice.pick(r)]
		b = append(append(b, "/catalog/"...), categories[p.category]...)
		b = append(append(append(b, '/'), p.slug...), '/')
	case 3:
		b = append(b, "/sale/"...)
	case 4:
		b = append(append(append(b, "/blog/"...), blogPosts[r.IntN(len(blogPosts))]...), '/')
	case 5:
		b = append(b, "/delivery/"...)
	case 6:
		b = append(b, "/contacts/"...)
	case 7:
		b = append(b, "/about/"...)
	case 8:
		b = append(append(b, "/search/?q="...), searchQueries[r.IntN(len(searchQueries))]...)
		if landing {
			sb.query = true
		}
	case 9:
		b = append(append(append(b, "/promo/"...), promos[r.IntN(len(promos))]...), '/')
	}
	return b
}

// SourceSample is one session's entry to the site as the generator writes
// it, with the traffic source kind it was built to have.
type SourceSample struct {
	Kind       crmlink.SourceKind
	LandingURL string
	Referrer   string
}

// SourceSamples builds n session entries to site with the generator's own
// code, so that a test can check that a traffic classifier agrees with the
// kind each one was meant to have. Every kind the generator uses appears.
func SourceSamples(seed uint64, site string, n int) []SourceSample {
	r := newRNG().seed(newSeeds(seed).detail, 0)
	sb := sourceBuilder{site: site}
	out := make([]SourceSample, n)
	for i := range out {
		reg := regionChoice.pick(r)
		k := sb.build(r, i%3 == 0, reg)
		out[i] = SourceSample{Kind: k, LandingURL: string(sb.landing), Referrer: string(sb.referrer)}
	}
	return out
}
