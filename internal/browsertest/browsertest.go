// Package browsertest starts Debian's Chromium for the browser tests
// (the tag's in web/, the dashboard's in cmd/crmlink) and records what
// goes wrong on its pages.
package browsertest

import (
	"context"
	"os/exec"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// Chromium returns the path of a Chromium or Chrome binary, or skips the
// test.
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium, chromium-browser or google-chrome in PATH: browser test skipped (apt-get install chromium)")
	return ""
}

// Browser is a started browser's tab.
type Browser struct {
	// Ctx is the tab's context, without a deadline (one would bound the
	// browser's life): give each step its own.
	Ctx context.Context

	logErrors bool
	mu        sync.Mutex
	errors    []string
}

// Start starts the browser at path, sandbox off (CI runs as root), with
// extra options, and records JavaScript exceptions and console errors;
// with logErrors also the log's errors: failed loads and refusals by the
// Content-Security-Policy. The browser stops when the test ends.
func Start(t testing.TB, path string, logErrors bool, opts ...chromedp.ExecAllocatorOption) *Browser {
	t.Helper()
	b := &Browser{logErrors: logErrors}
	all := append(append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox), opts...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), all...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithListener(b.listen))
	t.Cleanup(cancelBrowser)
	steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate("about:blank")}
	if logErrors {
		steps = append(steps, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{})
			return err
		}))
	}
	if err := chromedp.Do(bctx, steps...); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	b.Ctx = bctx
	return b
}

func (b *Browser) listen(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		msg = e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			msg += " " + e.ExceptionDetails.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		for _, a := range e.Args {
			msg += " " + string(a.Value) + a.Description
		}
	case *cdplog.EventEntryAdded:
		if !b.logErrors || e.Entry.Level != cdplog.EntryLevelError {
			return
		}
		msg = e.Entry.Text + " " + e.Entry.URL
	default:
		return
	}
	b.mu.Lock()
	b.errors = append(b.errors, msg)
	b.mu.Unlock()
}

// Errors returns what went wrong on the pages so far.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.errors...)
}
