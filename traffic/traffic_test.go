package traffic

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crmlink/crmlink"
)

var classifier = New()

// src is a short way to write an expected result in the tables below.
type src struct {
	kind   crmlink.SourceKind
	engine string
}

func TestClassifyRules(t *testing.T) {
	const site = "shop.example"
	tests := []struct {
		name     string
		landing  string
		referrer string
		siteHost string
		want     src
		clickID  string
	}{
		// 1. Ad: click ids, each ad system, and paid mediums.
		{"yclid", "https://shop.example/?yclid=123456", "", site, src{"ad", "Yandex Direct"}, "yclid=123456"},
		{"gclid", "https://shop.example/p?x=1&gclid=Cj0KCQ", "https://www.google.com/", site, src{"ad", "Google Ads"}, "gclid=Cj0KCQ"},
		{"rb_clickid", "https://shop.example/?utm_source=vk&utm_medium=cpc&rb_clickid=41c8a9e0", "https://vk.com/", site, src{"ad", "VK Ads"}, "rb_clickid=41c8a9e0"},
		{"gbraid", "https://shop.example/?gbraid=0AAAA", "", site, src{"ad", "Google Ads"}, "gbraid=0AAAA"},
		{"wbraid", "https://shop.example/?wbraid=CkQK", "", site, src{"ad", "Google Ads"}, "wbraid=CkQK"},
		{"dclid", "https://shop.example/?dclid=CJ3", "", site, src{"ad", "Google Ads"}, "dclid=CJ3"},
		{"fbclid", "https://shop.example/?fbclid=IwAR0", "https://l.facebook.com/", site, src{"ad", "Facebook Ads"}, "fbclid=IwAR0"},
		{"msclkid", "https://shop.example/?msclkid=abc", "https://www.bing.com/", site, src{"ad", "Microsoft Advertising"}, "msclkid=abc"},
		{"ttclid", "https://shop.example/?ttclid=E.C.P", "", site, src{"ad", "TikTok Ads"}, "ttclid=E.C.P"},
		{"twclid", "https://shop.example/?twclid=2-x", "", site, src{"ad", "X Ads"}, "twclid=2-x"},
		{"li_fat_id", "https://shop.example/?li_fat_id=a-b", "", site, src{"ad", "LinkedIn Ads"}, "li_fat_id=a-b"},
		{"click id name in upper case", "https://shop.example/?GCLID=abc", "", site, src{"ad", "Google Ads"}, "gclid=abc"},
		{"click id value decoded", "https://shop.example/?gclid=a%2Bb+c", "", site, src{"ad", "Google Ads"}, "gclid=a+b c"},
		{"empty click id ignored", "https://shop.example/?gclid=&utm_source=x", "", site, src{"referral", "x"}, ""},
		{"blank click id ignored", "https://shop.example/?yclid=%20", "", site, src{"direct", ""}, ""},
		{"click id without value ignored", "https://shop.example/?yclid", "", site, src{"direct", ""}, ""},
		{"click id list order decides", "https://shop.example/?gclid=g&yclid=y", "", site, src{"ad", "Yandex Direct"}, "yclid=y"},
		{"first of the same click id wins", "https://shop.example/?yclid=1&yclid=2", "", site, src{"ad", "Yandex Direct"}, "yclid=1"},
		{"click id beats utm_source", "https://shop.example/?utm_source=google&utm_medium=cpc&yclid=7", "", site, src{"ad", "Yandex Direct"}, "yclid=7"},
		{"ysclid is not an ad", "https://shop.example/?ysclid=lq1", "https://yandex.ru/", site, src{"organic", "Yandex"}, ""},
		{"click id in the fragment query", "https://shop.example/#/cart?yclid=5", "", site, src{"ad", "Yandex Direct"}, "yclid=5"},
		{"paid medium cpc", "https://shop.example/?utm_source=yandex&utm_medium=cpc", "https://yandex.ru/", site, src{"ad", "Yandex Direct"}, ""},
		{"paid medium upper case", "https://shop.example/?utm_source=Google&utm_medium=CPC", "", site, src{"ad", "Google Ads"}, ""},
		{"paid medium with spaces", "https://shop.example/?utm_source=%20vk%20&utm_medium=+paid_social+", "", site, src{"ad", "VK Ads"}, ""},
		{"paid medium display", "https://shop.example/?utm_medium=display", "", site, src{"ad", ""}, ""},
		{"paid medium retargeting beats webmail", "https://shop.example/?utm_source=mt&utm_medium=retargeting", "https://e.mail.ru/", site, src{"ad", "mt"}, ""},
		{"paid medium beats internal", "https://shop.example/?utm_medium=banner", "https://shop.example/", site, src{"ad", ""}, ""},

		// 2. Mailing medium.
		{"email medium", "https://shop.example/?utm_source=sendpulse&utm_medium=email", "", site, src{"email", "sendpulse"}, ""},
		{"newsletter beats search referrer", "https://shop.example/?utm_source=digest&utm_medium=Newsletter", "https://www.google.com/", site, src{"email", "digest"}, ""},
		{"e-mail medium", "https://shop.example/?utm_medium=e-mail", "", site, src{"email", ""}, ""},
		{"cyrillic mailing medium", "https://shop.example/?utm_source=unisender&utm_medium=%D0%A0%D0%B0%D1%81%D1%81%D1%8B%D0%BB%D0%BA%D0%B0", "", site, src{"email", "unisender"}, ""},
		{"click id beats email medium", "https://shop.example/?utm_medium=email&gclid=1", "", site, src{"ad", "Google Ads"}, "gclid=1"},

		// 3. Saved copies, before the search engine they sit under.
		{"google cache", "https://shop.example/", "https://webcache.googleusercontent.com/search?q=cache:x", site, src{"saved", "Google"}, ""},
		{"yandex cache", "https://shop.example/", "http://hghltd.yandex.net/yandbtm?text=x", site, src{"saved", "Yandex"}, ""},
		{"yandex cache .com", "https://shop.example/", "http://hghltd.yandex.com/yandbtm", site, src{"saved", "Yandex"}, ""},
		{"bing cache", "https://shop.example/", "http://cc.bingj.com/cache.aspx?q=x", site, src{"saved", "Bing"}, ""},

		// 4. Organic.
		{"yandex.ru", "https://shop.example/", "https://yandex.ru/search/?text=shoes", site, src{"organic", "Yandex"}, ""},
		{"yandex.com.tr", "https://shop.example/", "https://yandex.com.tr/", site, src{"organic", "Yandex"}, ""},
		{"ya.ru", "https://shop.example/", "https://ya.ru/", site, src{"organic", "Yandex"}, ""},
		{"google.com", "https://shop.example/", "https://www.google.com/", site, src{"organic", "Google"}, ""},
		{"google.co.uk", "https://shop.example/", "https://www.google.co.uk/", site, src{"organic", "Google"}, ""},
		{"google.com.tr", "https://shop.example/", "https://www.google.com.tr/", site, src{"organic", "Google"}, ""},
		{"google.com.ua", "https://shop.example/", "https://www.google.com.ua/", site, src{"organic", "Google"}, ""},
		{"yandex.kz", "https://shop.example/", "https://yandex.kz/search/", site, src{"organic", "Yandex"}, ""},
		{"exact beats wildcard of the same length", "https://shop.example/", "https://yandex.cloud/", site, src{"referral", "yandex.cloud"}, ""},
		{"google.de", "https://shop.example/", "https://google.de/url?q=x", site, src{"organic", "Google"}, ""},
		{"maps.google stays search", "https://shop.example/", "https://maps.google.ru/", site, src{"organic", "Google"}, ""},
		{"bing", "https://shop.example/", "https://www.bing.com/search?q=x", site, src{"organic", "Bing"}, ""},
		{"duckduckgo", "https://shop.example/", "https://duckduckgo.com/", site, src{"organic", "DuckDuckGo"}, ""},
		{"go.mail.ru", "https://shop.example/", "https://go.mail.ru/search?q=x", site, src{"organic", "Mail.ru"}, ""},
		{"yahoo subdomain", "https://shop.example/", "https://r.search.yahoo.com/_ylt=x", site, src{"organic", "Yahoo!"}, ""},
		{"yahoo japan", "https://shop.example/", "https://search.yahoo.co.jp/", site, src{"organic", "Yahoo!"}, ""},
		{"rambler", "https://shop.example/", "https://nova.rambler.ru/search?query=x", site, src{"organic", "Rambler"}, ""},
		{"ecosia", "https://shop.example/", "https://www.ecosia.org/", site, src{"organic", "Ecosia"}, ""},
		{"brave", "https://shop.example/", "https://search.brave.com/", site, src{"organic", "Brave Search"}, ""},
		{"search beats internal", "https://yandex.ru/", "https://yandex.ru/search", "yandex.ru", src{"organic", "Yandex"}, ""},
		{"organic with non-paid utm", "https://shop.example/?utm_source=x&utm_medium=organic", "https://www.google.com/", site, src{"organic", "Google"}, ""},

		// 5. Social.
		{"vk", "https://shop.example/", "https://vk.com/wall-1_2", site, src{"social", "VKontakte"}, ""},
		{"vk subdomain", "https://shop.example/", "https://m.vk.com/", site, src{"social", "VKontakte"}, ""},
		{"vk away", "https://shop.example/", "https://away.vk.com/away.php?to=x", site, src{"social", "VKontakte"}, ""},
		{"ok.ru", "https://shop.example/", "https://ok.ru/", site, src{"social", "Odnoklassniki"}, ""},
		{"facebook", "https://shop.example/", "https://l.facebook.com/l.php", site, src{"social", "Facebook"}, ""},
		{"x via t.co", "https://shop.example/", "https://t.co/abc", site, src{"social", "X (Twitter)"}, ""},
		{"pinterest wildcard", "https://shop.example/", "https://ru.pinterest.com/pin/1", site, src{"social", "Pinterest"}, ""},
		{"pinterest co.uk", "https://shop.example/", "https://www.pinterest.co.uk/", site, src{"social", "Pinterest"}, ""},
		{"youtube", "https://shop.example/", "https://www.youtube.com/", site, src{"social", "YouTube"}, ""},
		{"my.mail.ru is social, not mail.ru", "https://shop.example/", "https://my.mail.ru/", site, src{"social", "Moi Mir"}, ""},

		// 6. Messengers.
		{"t.me", "https://shop.example/", "https://t.me/channel/12", site, src{"messenger", "Telegram"}, ""},
		{"web.telegram.org", "https://shop.example/", "https://web.telegram.org/k/", site, src{"messenger", "Telegram"}, ""},
		{"whatsapp", "https://shop.example/", "https://web.whatsapp.com/", site, src{"messenger", "WhatsApp"}, ""},
		{"vk.me is a messenger", "https://shop.example/", "https://vk.me/join/x", site, src{"messenger", "VK Messenger"}, ""},
		{"slack", "https://shop.example/", "https://app.slack.com/client", site, src{"messenger", "Slack"}, ""},

		// 7. Recommendations.
		{"dzen", "https://shop.example/", "https://dzen.ru/a/xyz", site, src{"recommend", "Dzen"}, ""},
		{"zen.yandex beats yandex", "https://shop.example/", "https://zen.yandex.ru/media/x", site, src{"recommend", "Dzen"}, ""},
		{"google news beats google", "https://shop.example/", "https://news.google.com/", site, src{"recommend", "Google News"}, ""},
		{"flipboard", "https://shop.example/", "https://flipboard.com/", site, src{"recommend", "Flipboard"}, ""},
		{"pulse.mail.ru", "https://shop.example/", "https://pulse.mail.ru/", site, src{"recommend", "Pulse"}, ""},

		// 8. Webmail.
		{"mail.yandex beats yandex", "https://shop.example/", "https://mail.yandex.ru/?uid=1#inbox", site, src{"email", "Yandex Mail"}, ""},
		{"mail.yandex.com.tr", "https://shop.example/", "https://mail.yandex.com.tr/", site, src{"email", "Yandex Mail"}, ""},
		{"e.mail.ru", "https://shop.example/", "https://e.mail.ru/inbox/", site, src{"email", "Mail.ru Mail"}, ""},
		{"gmail beats google", "https://shop.example/", "https://mail.google.com/mail/u/0/", site, src{"email", "Gmail"}, ""},
		{"outlook", "https://shop.example/", "https://outlook.live.com/mail/", site, src{"email", "Outlook"}, ""},

		// Ad redirectors (ads.txt).
		{"yabs beats yandex", "https://shop.example/", "https://yabs.yandex.ru/count/abc", site, src{"ad", "Yandex Direct"}, ""},
		{"googleadservices", "https://shop.example/", "https://www.googleadservices.com/pagead/aclk", site, src{"ad", "Google Ads"}, ""},

		// referral.txt shadows a broader pattern.
		{"google docs is a link", "https://shop.example/", "https://docs.google.com/document/d/1", site, src{"referral", "docs.google.com"}, ""},
		{"yandex market is a link", "https://shop.example/", "https://market.yandex.ru/product/1", site, src{"referral", "market.yandex.ru"}, ""},
		{"shadowed host can be internal", "https://docs.google.com/x", "https://docs.google.com/y", "docs.google.com", src{"internal", ""}, ""},

		// 9. Internal.
		{"same host", "https://shop.example/b", "https://shop.example/a", site, src{"internal", ""}, ""},
		{"www ignored", "https://shop.example/b", "https://www.shop.example/a", site, src{"internal", ""}, ""},
		{"site host with www", "https://shop.example/b", "https://shop.example/a", "www.shop.example", src{"internal", ""}, ""},
		{"port ignored", "http://shop.example:8080/b", "http://shop.example:8080/a", "shop.example", src{"internal", ""}, ""},
		{"referrer a subdomain", "https://shop.example/", "https://blog.shop.example/", site, src{"internal", ""}, ""},
		{"site a subdomain", "https://m.shop.example/", "https://shop.example/", "m.shop.example", src{"internal", ""}, ""},
		{"site host in upper case", "https://shop.example/", "https://SHOP.example/", "Shop.Example", src{"internal", ""}, ""},
		{"site host as a URL", "https://shop.example/", "https://shop.example/", "https://shop.example:443/", src{"internal", ""}, ""},
		{"unknown site: landing host", "https://shop.example/b", "https://shop.example/a", "", src{"internal", ""}, ""},
		{"unknown site: landing subdomain", "https://shop.example/b", "https://www.shop.example/a", "", src{"internal", ""}, ""},
		{"not a suffix at a label", "https://shop.example/", "https://myshop.example/", site, src{"referral", "myshop.example"}, ""},
		{"sibling subdomains are not internal", "https://a.shop.example/", "https://b.shop.example/", "a.shop.example", src{"referral", "b.shop.example"}, ""},
		{"no site is a subdomain of a TLD", "https://shop.example/", "http://example/", site, src{"referral", "example"}, ""},
		{"internal beats utm", "https://shop.example/?utm_source=menu", "https://shop.example/", site, src{"internal", ""}, ""},
		{"localhost", "http://localhost:3000/b", "http://localhost:3000/a", "localhost", src{"internal", ""}, ""},
		{"site host with port", "http://localhost:3000/b", "http://localhost:3000/a", "localhost:3000", src{"internal", ""}, ""},

		// 10. Referral.
		{"other site", "https://shop.example/", "https://www.Blog.Example.org/post?id=1", site, src{"referral", "blog.example.org"}, ""},
		{"other site with utm", "https://shop.example/?utm_source=partner&utm_medium=social", "https://partner.org/", site, src{"referral", "partner.org"}, ""},
		{"ip address", "https://shop.example/", "http://192.168.0.10:8080/x", site, src{"referral", "192.168.0.10"}, ""},
		{"ipv6", "https://shop.example/", "http://[2001:DB8::1]:80/", site, src{"referral", "2001:db8::1"}, ""},
		{"google as a path is not google", "https://shop.example/", "https://google.example.com/", site, src{"referral", "google.example.com"}, ""},
		{"google under another domain", "https://shop.example/", "https://google.blogspot.com/", site, src{"referral", "google.blogspot.com"}, ""},
		{"google under a long second level", "https://shop.example/", "https://google.evilsite.de/", site, src{"referral", "google.evilsite.de"}, ""},
		{"google as a longer label", "https://shop.example/", "https://notgoogle.com/", site, src{"referral", "notgoogle.com"}, ""},
		{"utm only", "https://shop.example/?utm_source=partner", "", site, src{"referral", "partner"}, ""},
		{"utm medium only", "https://shop.example/?utm_medium=affiliate", "", site, src{"referral", ""}, ""},
		{"social medium without referrer", "https://shop.example/?utm_source=vk&utm_medium=social", "", site, src{"social", "VKontakte"}, ""},
		{"smm without referrer", "https://shop.example/?utm_source=tg_channel&utm_medium=SMM", "", site, src{"social", "tg_channel"}, ""},
		{"utm in fragment query", "https://shop.example/#/p?utm_source=spa", "", site, src{"referral", "spa"}, ""},
		{"utm campaign alone is direct", "https://shop.example/?utm_campaign=spring", "", site, src{"direct", ""}, ""},

		// 11. Direct.
		{"nothing", "https://shop.example/", "", site, src{"direct", ""}, ""},
		{"all empty", "", "", "", src{"direct", ""}, ""},
		{"garbage referrer", "https://shop.example/", "not a url at all", site, src{"direct", ""}, ""},
		{"about:blank", "https://shop.example/", "about:blank", site, src{"direct", ""}, ""},
		{"file scheme", "https://shop.example/", "file:///C:/x.html", site, src{"direct", ""}, ""},
		{"extension scheme", "https://shop.example/", "chrome-extension://abcdef/page.html", site, src{"direct", ""}, ""},
		{"scheme without host", "https://shop.example/", "https://", site, src{"direct", ""}, ""},
		{"number is no host", "https://shop.example/", "3.14", site, src{"direct", ""}, ""},
		{"bad port", "https://shop.example/", "https://example.com:http/", site, src{"direct", ""}, ""},
		{"empty label", "https://shop.example/", "https://a..b.com/", site, src{"direct", ""}, ""},
		{"percent in host", "https://shop.example/", "https://ex%41mple.com/", site, src{"direct", ""}, ""},

		// Referrer forms.
		{"no scheme", "https://shop.example/", "vk.com/wall1", site, src{"social", "VKontakte"}, ""},
		{"no scheme, other site", "https://shop.example/", "www.partner.org/x", site, src{"referral", "partner.org"}, ""},
		{"protocol-relative", "https://shop.example/", "//t.me/x", site, src{"messenger", "Telegram"}, ""},
		{"upper-case scheme and host", "https://shop.example/", "HTTPS://WWW.GOOGLE.RU/", site, src{"organic", "Google"}, ""},
		{"user info", "https://shop.example/", "https://user:pw@vk.com/", site, src{"social", "VKontakte"}, ""},
		{"trailing dot", "https://shop.example/", "https://yandex.ru./", site, src{"organic", "Yandex"}, ""},
		{"spaces around", "https://shop.example/", "  https://ok.ru/  ", site, src{"social", "Odnoklassniki"}, ""},
		{"backslash ends host", "https://shop.example/", `https://t.me\x`, site, src{"messenger", "Telegram"}, ""},
		{"unicode host", "https://shop.example/", "https://ПРИМЕР.рф/страница", site, src{"referral", "пример.рф"}, ""},
		{"unicode site internal", "https://магазин.рф/", "https://www.Магазин.рф/", "магазин.рф", src{"internal", ""}, ""},

		// Android apps.
		{"gmail app", "https://shop.example/", "android-app://com.google.android.gm", site, src{"email", "Gmail"}, ""},
		{"telegram app", "https://shop.example/", "android-app://org.telegram.messenger/", site, src{"messenger", "Telegram"}, ""},
		{"telegram sub-package", "https://shop.example/", "android-app://org.telegram.messenger.web", site, src{"messenger", "Telegram"}, ""},
		{"google app", "https://shop.example/", "android-app://com.google.android.googlequicksearchbox/https/www.google.com", site, src{"organic", "Google"}, ""},
		{"vk app", "https://shop.example/", "android-app://com.vkontakte.android", site, src{"social", "VKontakte"}, ""},
		{"unknown app", "https://shop.example/", "android-app://com.Example.Reader/", site, src{"referral", "com.example.reader"}, ""},
		{"app package is not a host", "https://shop.example/", "android-app://com.google", site, src{"referral", "com.google"}, ""},
		{"app never internal", "https://shop.example/", "android-app://shop.example", site, src{"referral", "shop.example"}, ""},
		{"app without package", "https://shop.example/", "android-app://", site, src{"direct", ""}, ""},
		{"app with bad package", "https://shop.example/", "android-app://a..b", site, src{"direct", ""}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classifier.Classify(tt.landing, tt.referrer, tt.siteHost)
			if got.Kind != tt.want.kind || got.Engine != tt.want.engine || got.ClickID != tt.clickID {
				t.Errorf("Classify(%q, %q, %q) = {%s %q clickID=%q}, want {%s %q clickID=%q}",
					tt.landing, tt.referrer, tt.siteHost, got.Kind, got.Engine, got.ClickID,
					tt.want.kind, tt.want.engine, tt.clickID)
			}
		})
	}
}

func TestClassifyUTM(t *testing.T) {
	tests := []struct {
		name    string
		landing string
		want    [5]string // source, medium, campaign, content, term
	}{
		{"all five", "https://s.example/?utm_source=yandex&utm_medium=cpc&utm_campaign=spring&utm_content=ad1&utm_term=shoes",
			[5]string{"yandex", "cpc", "spring", "ad1", "shoes"}},
		{"percent and plus decoded", "https://s.example/?utm_term=%D0%BA%D1%83%D0%BF%D0%B8%D1%82%D1%8C+%D1%81%D0%BB%D0%BE%D0%BD%D0%B0&utm_campaign=a%26b%3Dc",
			[5]string{"", "", "a&b=c", "", "купить слона"}},
		{"windows-1251", "https://s.example/?utm_term=%EA%F3%EF%E8%F2%FC+%F1%EB%EE%ED%E0",
			[5]string{"", "", "", "", "купить слона"}},
		{"trimmed", "https://s.example/?utm_source=+%20yandex%09+", [5]string{"yandex", "", "", "", ""}},
		{"bad escape kept", "https://s.example/?utm_campaign=100%+off%zz", [5]string{"", "", "100% off%zz", "", ""}},
		{"control characters become spaces", "https://s.example/?utm_content=a%00b%0Ac", [5]string{"", "", "", "a b c", ""}},
		{"first occurrence wins", "https://s.example/?utm_source=a&utm_source=b", [5]string{"a", "", "", "", ""}},
		{"upper-case names", "https://s.example/?UTM_SOURCE=a&Utm_Medium=b", [5]string{"a", "b", "", "", ""}},
		{"fragment ignored", "https://s.example/?utm_source=a#utm_medium=b", [5]string{"a", "", "", "", ""}},
		{"query in fragment", "https://s.example/#/x?utm_source=a&utm_term=t", [5]string{"a", "", "", "", "t"}},
		{"main query wins over fragment", "https://s.example/?utm_source=a#/x?utm_source=b", [5]string{"a", "", "", "", ""}},
		{"no scheme", "s.example/p?utm_source=a", [5]string{"a", "", "", "", ""}},
		{"query only", "?utm_medium=m", [5]string{"", "m", "", "", ""}},
		{"empty values", "https://s.example/?utm_source=&utm_medium", [5]string{"", "", "", "", ""}},
		{"similar names ignored", "https://s.example/?utm_sourcex=a&xutm_source=b&utm_=c", [5]string{"", "", "", "", ""}},
		{"empty pairs", "https://s.example/?&&utm_source=a&&", [5]string{"a", "", "", "", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classifier.Classify(tt.landing, "", "s.example")
			have := [5]string{got.UTMSource, got.UTMMedium, got.UTMCampaign, got.UTMContent, got.UTMTerm}
			if have != tt.want {
				t.Errorf("UTM of %q = %q, want %q", tt.landing, have, tt.want)
			}
		})
	}
}

// TestClassifyFillsUTMInEveryCase checks that the UTM fields do not depend on
// which rule decided the kind.
func TestClassifyFillsUTMInEveryCase(t *testing.T) {
	cases := []struct {
		medium, extra, referrer string
		kind                    crmlink.SourceKind
	}{
		{"x", "&yclid=1", "", crmlink.SourceAd},
		{"cpc", "", "", crmlink.SourceAd},
		{"email", "", "", crmlink.SourceEmail},
		{"x", "", "https://hghltd.yandex.net/", crmlink.SourceSaved},
		{"x", "", "https://yandex.ru/", crmlink.SourceOrganic},
		{"x", "", "https://vk.com/", crmlink.SourceSocial},
		{"x", "", "https://t.me/", crmlink.SourceMessenger},
		{"x", "", "https://dzen.ru/", crmlink.SourceRecommend},
		{"x", "", "https://mail.google.com/", crmlink.SourceEmail},
		{"x", "", "https://s.example/", crmlink.SourceInternal},
		{"x", "", "https://other.example/", crmlink.SourceReferral},
		{"smm", "", "", crmlink.SourceSocial},
		{"x", "", "", crmlink.SourceReferral},
	}
	for _, tc := range cases {
		landing := "https://s.example/?utm_source=s&utm_medium=" + tc.medium + "&utm_campaign=c&utm_content=o&utm_term=t" + tc.extra
		got := classifier.Classify(landing, tc.referrer, "s.example")
		if got.Kind != tc.kind || got.UTMSource != "s" || got.UTMMedium != tc.medium || got.UTMCampaign != "c" || got.UTMContent != "o" || got.UTMTerm != "t" {
			t.Errorf("from %q: %+v, want kind %s and all UTM fields", tc.referrer, got, tc.kind)
		}
	}
}

func TestLengthsBounded(t *testing.T) {
	long := strings.Repeat("я", 300) // 600 bytes
	got := classifier.Classify("https://s.example/?utm_source="+long+"&utm_term="+strings.Repeat("%D1%8F", 3000), "", "")
	for _, v := range []string{got.UTMSource, got.UTMTerm, got.Engine} {
		if len(v) > maxUTMLen || len(v) < maxUTMLen-1 || !strings.HasPrefix(long, v) {
			t.Errorf("value of %d bytes, valid UTF-8 %v: want a prefix of the input of at most %d bytes", len(v), utf8.ValidString(v), maxUTMLen)
		}
	}
	got = classifier.Classify("https://s.example/?gclid="+strings.Repeat("x", 1000), "", "")
	if len(got.ClickID) != len("gclid=")+maxClickIDLen {
		t.Errorf("click id of %d bytes", len(got.ClickID))
	}
	// A long Cyrillic value cut at the raw-value limit stays UTF-8, and is
	// not misread as Windows-1251 for its cut last character.
	got = classifier.Classify("https://s.example/?utm_term="+strings.Repeat("%D1%8F", maxRawValue), "", "")
	if !strings.HasPrefix(got.UTMTerm, "яяя") {
		t.Errorf("long UTF-8 value read as %q", got.UTMTerm)
	}
	// A host longer than DNS allows is no host.
	if got := classifier.Classify("https://s.example/", "https://"+strings.Repeat("a", 300)+".com/", ""); got.Kind != crmlink.SourceDirect {
		t.Errorf("very long referrer host: %+v", got)
	}
}

func TestRefererDomain(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://www.Example.COM:8080/path?q=1#f", "example.com"},
		{"http://sub.example.com", "sub.example.com"},
		{"example.com/page", "example.com"},
		{"www.example.com", "example.com"},
		{"//cdn.example.com/x", "cdn.example.com"},
		{"https://www.com/", "com"},
		{"https://www./", "www"},
		{"https://user@www.example.com/", "example.com"},
		{"https://[::1]:8080/", "::1"},
		{"android-app://org.telegram.messenger", "org.telegram.messenger"},
		{"https://ПРИМЕР.РФ/", "пример.рф"},
		{"", ""},
		{"   ", ""},
		{"localhost", ""},
		{"http://localhost:8080/", "localhost"},
		{"about:blank", ""},
		{"mailto:a@example.com", ""},
		{"a@example.com", ""},
		{"example.com:8080/x", "example.com"},
		{"javascript:alert(1)", ""},
		{"ftp://example.com/", ""},
		{"https://exa mple.com/", ""},
		{"https://exa<mple.com/", ""},
		{"https://" + strings.Repeat("a.", 200) + "com/", ""},
		{"https://1.2.3.4/", "1.2.3.4"},
		{"https://1.2.3/", ""},
		{"https://1234.5.6.7/", ""},
		{"https://example.123/", ""},
		{"https://a.b/\xff", "a.b"},
		{"https://\xff.com/", ""},
	}
	for _, tt := range tests {
		if got := RefererDomain(tt.in); got != tt.want {
			t.Errorf("RefererDomain(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestEveryListEntry classifies a referrer made from every entry of every
// host list, so a typo or a shadowed entry in a data file fails here.
func TestEveryListEntry(t *testing.T) {
	for _, l := range hostLists {
		lines, err := readList(l.file)
		if err != nil {
			t.Fatal(err)
		}
		if len(lines) == 0 {
			t.Errorf("%s is empty", l.file)
		}
		for _, ln := range lines {
			var ref, domain string
			if pkg, ok := strings.CutPrefix(ln.key, appPrefix); ok {
				ref, domain = "android-app://"+pkg, pkg
			} else {
				host := strings.Replace(ln.key, ".*", ".com", 1)
				ref, domain = "https://www."+host+"/some/page?x=1", host
			}
			want := src{l.kind, ln.value}
			if l.kind == crmlink.SourceReferral {
				want.engine = domain
			}
			got := classifier.Classify("https://shop.example/", ref, "shop.example")
			if got.Kind != want.kind || got.Engine != want.engine {
				t.Errorf("%s:%d %s: referrer %q gives {%s %q}, want {%s %q}",
					l.file, ln.no, ln.key, ref, got.Kind, got.Engine, want.kind, want.engine)
			}
		}
	}
}

func TestEveryParameterEntry(t *testing.T) {
	lines, err := readList("clickids.txt")
	if err != nil || len(lines) == 0 {
		t.Fatalf("clickids.txt: %d entries, %v", len(lines), err)
	}
	for _, ln := range lines {
		got := classifier.Classify("https://shop.example/?a=b&"+ln.key+"=v1&c=d", "https://vk.com/", "")
		if got.Kind != crmlink.SourceAd || got.Engine != ln.value || got.ClickID != ln.key+"=v1" {
			t.Errorf("click id %s: got %+v", ln.key, got)
		}
	}
	for _, l := range mediumLists {
		lines, err := readList(l.file)
		if err != nil || len(lines) == 0 {
			t.Fatalf("%s: %d entries, %v", l.file, len(lines), err)
		}
		for _, ln := range lines {
			landing := "https://shop.example/?utm_source=src&utm_medium=" + strings.ToUpper(ln.key)
			got := classifier.Classify(landing, "", "")
			if got.Kind != l.kind || got.Engine != "src" {
				t.Errorf("%s: medium %q gives {%s %q}, want {%s src}", l.file, ln.key, got.Kind, got.Engine, l.kind)
			}
		}
	}
}

// TestPatternValidation checks the parser's refusals, so that a malformed
// list fails loudly rather than matching nothing.
func TestPatternValidation(t *testing.T) {
	for _, p := range []string{"vk.com", "google.*", "search.yahoo.*", "xn--p1ai", "пример.рф", "slack-redir.net", "a_b.c"} {
		if !validPattern(p) {
			t.Errorf("validPattern(%q) = false", p)
		}
	}
	for _, p := range []string{"", "*", ".*", "*.google.com", "google.*.com", "Google.com", "a..b", ".a", "a.", "a b", "a/b", "ПРИМЕР.рф"} {
		if validPattern(p) {
			t.Errorf("validPattern(%q) = true", p)
		}
	}
	for _, p := range []string{"org.telegram.messenger", "com.whatsapp", "a_b"} {
		if !validPackage(p) {
			t.Errorf("validPackage(%q) = false", p)
		}
	}
	for _, p := range []string{"", "Org.telegram", "org..x", ".x", "x.", "a-b"} {
		if validPackage(p) {
			t.Errorf("validPackage(%q) = true", p)
		}
	}
}

func TestClassifyAllocations(t *testing.T) {
	// The common shapes of a live hit must not allocate: the collector
	// classifies every session start.
	for _, c := range []struct{ landing, referrer string }{
		{"https://shop.example/", ""},
		{"https://shop.example/p?utm_source=yandex&utm_medium=cpc&utm_campaign=spring&yclid=123", "https://yandex.ru/"},
		{"https://shop.example/p", "https://www.google.com/"},
		{"https://shop.example/p", "https://blog.example.org/post"},
		{"https://shop.example/p", "https://shop.example/q"},
	} {
		n := testing.AllocsPerRun(100, func() { classifier.Classify(c.landing, c.referrer, "shop.example") })
		if n != 0 {
			t.Errorf("Classify(%q, %q) allocates %v times", c.landing, c.referrer, n)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 1000 {
				if got := classifier.Classify("https://s.example/?utm_source=a", "https://t.me/x", "s.example"); got.Kind != crmlink.SourceMessenger {
					t.Errorf("got %s", got.Kind)
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}

func FuzzClassify(f *testing.F) {
	seeds := [][3]string{
		{"https://shop.example/?yclid=1&utm_source=yandex&utm_medium=cpc", "https://yandex.ru/", "shop.example"},
		{"https://shop.example/#/x?utm_term=%D1%8F%EA%", "android-app://org.telegram.messenger", ""},
		{"shop.example/p?gclid=%zz", "//[::1]:80/", "https://shop.example:8080/"},
		{"?utm_medium=%D0%A0%D0%B0%D1%81%D1%81%D1%8B%D0%BB%D0%BA%D0%B0", "hghltd.yandex.net", "ПРИМЕР.рф"},
		{"", "https://www.google.co.uk./search", "www."},
		{"\x00\xff", "http://a..b/", "\xff"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, landing, referrer, site string) {
		got := classifier.Classify(landing, referrer, site)
		if !got.Kind.Valid() {
			t.Fatalf("kind %q", got.Kind)
		}
		if len(got.Engine) > maxUTMLen || !utf8.ValidString(got.Engine) {
			t.Fatalf("engine of %d bytes: %q", len(got.Engine), got.Engine)
		}
		if len(got.ClickID) > maxParamLen+1+maxClickIDLen || !utf8.ValidString(got.ClickID) {
			t.Fatalf("click id of %d bytes: %q", len(got.ClickID), got.ClickID)
		}
		for _, v := range []string{got.UTMSource, got.UTMMedium, got.UTMCampaign, got.UTMContent, got.UTMTerm} {
			if len(v) > maxUTMLen || !utf8.ValidString(v) || strings.TrimSpace(v) != v {
				t.Fatalf("UTM value of %d bytes: %q", len(v), v)
			}
		}
		if got.Kind == crmlink.SourceAd && got.ClickID == "" && got.Engine == "" && got.UTMMedium == "" {
			t.Fatalf("ad without a reason: %+v", got)
		}
		if got.Kind == crmlink.SourceDirect && (got.Engine != "" || got.UTMSource != "" || got.UTMMedium != "") {
			t.Fatalf("direct with a source: %+v", got)
		}
		if d := RefererDomain(referrer); len(d) > maxHostLen || !utf8.ValidString(d) {
			t.Fatalf("referrer domain of %d bytes", len(d))
		}
	})
}

// benchHits is a realistic mix of session starts: mostly search, direct,
// ads and social, with long real-world URLs.
var benchHits = [][2]string{
	{"https://shop.example/catalog/shoes?utm_source=yandex&utm_medium=cpc&utm_campaign=shoes_msk%7C12345&utm_content=ad_678&utm_term=%D0%BA%D1%80%D0%BE%D1%81%D1%81%D0%BE%D0%B2%D0%BA%D0%B8&yclid=4815162342108", "https://yandex.ru/"},
	{"https://shop.example/", "https://yandex.ru/search/?text=%D0%BA%D1%83%D0%BF%D0%B8%D1%82%D1%8C&lr=213&clid=2270455"},
	{"https://shop.example/product/123", "https://www.google.com/"},
	{"https://shop.example/", ""},
	{"https://shop.example/sale", ""},
	{"https://shop.example/?gclid=Cj0KCQiA2eKtBhDcARIsAEGTG40lY5q7e3Fs7Qw_wcB&gad_source=1", "https://www.google.ru/"},
	{"https://shop.example/p/1", "https://shop.example/catalog"},
	{"https://shop.example/blog/x", "https://vk.com/"},
	{"https://shop.example/?utm_source=telegram&utm_medium=post", "https://t.me/"},
	{"https://shop.example/", "https://dzen.ru/a/ZRk1"},
	{"https://shop.example/promo?utm_source=unisender&utm_medium=email&utm_campaign=weekly", ""},
	{"https://shop.example/", "https://e.mail.ru/inbox/0:1"},
	{"https://shop.example/review", "https://www.otzovik.example.com/review_123.html"},
	{"https://shop.example/", "android-app://com.google.android.gm/"},
	{"https://shop.example/x?fbclid=IwAR2x9sJ3-aLkq0", "https://l.facebook.com/"},
	{"https://shop.example/", "https://www.bing.com/search?q=shop"},
}

func BenchmarkClassify(b *testing.B) {
	c := New()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		h := benchHits[i%len(benchHits)]
		c.Classify(h[0], h[1], "shop.example")
		i++
	}
}

func BenchmarkClassifyParallel(b *testing.B) {
	c := New()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			h := benchHits[i%len(benchHits)]
			c.Classify(h[0], h[1], "shop.example")
			i++
		}
	})
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		New()
	}
}

// TestOneEngineOneName checks that an engine reached through utm_source has
// the name its click id or its referrer gives it, whatever the case of
// the tag, so that reports show it in one row under one name.
func TestOneEngineOneName(t *testing.T) {
	c := New()
	const site = "shop.example"
	for _, tt := range []struct {
		name             string
		a, b             [2]string // landing URL and referrer of two sessions
		wantKind, engine string
	}{
		{"Yandex Direct by yclid and by utm", [2]string{"https://shop.example/?yclid=123", ""},
			[2]string{"https://shop.example/?utm_source=Yandex&utm_medium=cpc", ""}, "ad", "Yandex Direct"},
		{"Google Ads by gclid and by utm", [2]string{"https://shop.example/?gclid=abc", ""},
			[2]string{"https://shop.example/?utm_source=google&utm_medium=cpc", "https://www.google.com/"}, "ad", "Google Ads"},
		{"VKontakte by referrer and by utm", [2]string{"https://shop.example/", "https://vk.com/feed"},
			[2]string{"https://shop.example/?utm_source=vk&utm_medium=social", ""}, "social", "VKontakte"},
		{"VK Ads by utm, with and without the referrer", [2]string{"https://shop.example/?utm_source=vk&utm_medium=cpc", "https://vk.com/"},
			[2]string{"https://shop.example/?utm_source=VK&utm_medium=cpc", ""}, "ad", "VK Ads"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			x, y := c.Classify(tt.a[0], tt.a[1], site), c.Classify(tt.b[0], tt.b[1], site)
			for _, got := range []crmlink.TrafficSource{x, y} {
				if string(got.Kind) != tt.wantKind || got.Engine != tt.engine {
					t.Errorf("got %s %q, want %s %q", got.Kind, got.Engine, tt.wantKind, tt.engine)
				}
			}
		})
	}
	// A value the list does not know stays as sent.
	if got := c.Classify("https://shop.example/?utm_source=partner42&utm_medium=cpc", "", site); got.Engine != "partner42" {
		t.Errorf("unknown utm_source: engine %q, want it as sent", got.Engine)
	}
}
