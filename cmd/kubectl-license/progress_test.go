package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestProgressPlainLines(t *testing.T) {
	var b bytes.Buffer
	p := newProgress(&b, false, 200, "users")
	for range 200 {
		p.add(1)
	}
	p.finish()
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 10 || !strings.HasPrefix(lines[0], "progress: 20/200 users written (10%), ") ||
		!strings.HasPrefix(lines[9], "progress: 200/200 users written (100%), ") {
		t.Errorf("a line per 10%%:\n%s", b.String())
	}
	if strings.Contains(b.String(), "\r") {
		t.Errorf("no terminal control characters in a log: %q", b.String())
	}

	b.Reset()
	p = newProgress(&b, false, progressMinTotal-1, "users")
	for range progressMinTotal - 1 {
		p.add(1)
	}
	if b.Len() != 0 {
		t.Errorf("small jobs print no progress lines: %q", b.String())
	}
}

func TestProgressBarOnATerminal(t *testing.T) {
	var bar, out bytes.Buffer
	p := newProgress(&bar, true, 4, "users")
	p.add(1) // first draw
	if s := bar.String(); !strings.HasPrefix(s, "\r\x1b[K[=======>") || !strings.Contains(s, "] 1/4 users  25%") {
		t.Errorf("bar: %q", s)
	}
	bar.Reset()
	p.println(&out, "userlicense/ann created: +m365-e3")
	// The bar is erased before the line and drawn again after it.
	if out.String() != "userlicense/ann created: +m365-e3\n" || !strings.HasPrefix(bar.String(), "\r\x1b[K\r\x1b[K[") {
		t.Errorf("line %q, bar %q", out.String(), bar.String())
	}
	p.add(3)
	if !strings.Contains(bar.String(), "[==============================] 4/4 users  100%") {
		t.Errorf("complete bar: %q", bar.String())
	}
	bar.Reset()
	p.finish()
	if bar.String() != "\r\x1b[K" {
		t.Errorf("finish erases the bar: %q", bar.String())
	}
}
