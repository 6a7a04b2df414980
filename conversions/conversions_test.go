package conversions_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/crmlink/crmlink"
	"github.com/crmlink/crmlink/conversions"
	"github.com/shopspring/decimal"
)

// TestFormats: each platform's file byte for byte, with the documented
// columns: Metrica's ClientId (or Yclid), Target, DateTime in Unix
// seconds, Price, Currency; Google's template columns with the time and
// its offset.
func TestFormats(t *testing.T) {
	msk, _ := time.LoadLocation("Europe/Moscow")
	at := time.Date(2026, 11, 5, 11, 3, 0, 0, time.UTC) // 14:03 in Moscow; 1793876580
	cs := []crmlink.Conversion{
		{GoalKey: "paid", CRM: true, ClientID: 1764100000111, ClickID: "gclid=EAIaIQobChMIabc", Time: at, Value: decimal.RequireFromString("1520.50")},
		{GoalKey: "cart", ClientID: 1764100000222, ClickID: "yclid=4821739", Time: at.Add(time.Hour), Value: decimal.Zero},
		{GoalKey: "created", CRM: true, Time: at.Add(2 * time.Hour), Value: decimal.RequireFromString("10")},
		{GoalKey: "call back", ClickID: "rb_clickid=a1b2c3", Time: at.Add(3 * time.Hour), Value: decimal.RequireFromString("2500.75")},
	}
	for _, c := range []struct {
		format, want string
		skipped      int
	}{
		{"metrica", "ClientId,Target,DateTime,Price,Currency\n" +
			"1764100000111,order_paid,1793876580,1520.5,RUB\n" +
			"1764100000222,cart,1793880180,0,RUB\n", 2},
		{"metrica_yclid", "Yclid,Target,DateTime,Price,Currency\n4821739,cart,1793880180,0,RUB\n", 3},
		{"google", "Google Click ID,Conversion Name,Conversion Time,Conversion Value,Conversion Currency\n" +
			"EAIaIQobChMIabc,order_paid,2026-11-05 14:03:00+03:00,1520.5,RUB\n", 3},
		// VK's pixel event link: e=RG:<value>/<event>, the click id as a
		// parameter, ';'-separated as the pixel's links are.
		{"vk", "https://top-fwz1.mail.ru/tracker?id=3456789;e=RG%3A2500.75/call%20back;rb_clickid=a1b2c3\n", 3},
	} {
		var b bytes.Buffer
		w := conversions.NewWriter(&b, conversions.Lookup(c.format), conversions.Options{Location: msk, Currency: "RUB", Pixel: "3456789"})
		for i := range cs {
			if err := w.Write(&cs[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want || w.Skipped != c.skipped {
			t.Errorf("%s: skipped %d\n%q\nwant (skipped %d)\n%q", c.format, w.Skipped, b.String(), c.skipped, c.want)
		}
	}
}
