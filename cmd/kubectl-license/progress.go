package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressMinTotal is the smallest job that prints progress lines when
// standard error is not a terminal (a log or CI): below it the result
// lines are progress enough.
const progressMinTotal = 100

// progress shows how far a bulk job is: on a terminal, a bar redrawn in
// place on one line (with rate and time left); otherwise a plain line at
// every 10%. Result lines go through println, which keeps the bar below
// them.
type progress struct {
	w     io.Writer
	tty   bool
	total int
	noun  string
	start time.Time

	mu       sync.Mutex
	done     int
	drawn    bool // the bar is on screen
	lastStep int  // the last 10% step printed (plain mode)
	lastDraw time.Time
	finished bool
}

func newProgress(w io.Writer, tty bool, total int, noun string) *progress {
	return &progress{w: w, tty: tty, total: total, noun: noun, start: time.Now()}
}

// isTerminal tells whether w is a terminal (the progress bar's condition).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// add counts n more items done.
func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.total == 0 || p.finished {
		return
	}
	if p.tty {
		if time.Since(p.lastDraw) >= 100*time.Millisecond || p.done == p.total {
			p.draw()
		}
		return
	}
	if p.total < progressMinTotal {
		return
	}
	if step := p.done * 10 / p.total; step > p.lastStep {
		p.lastStep = step
		fmt.Fprintf(p.w, "progress: %d/%d %s written (%d%%), %s\n", p.done, p.total, p.noun, step*10, p.rate())
	}
}

// println writes a result line to w without garbling the bar.
func (p *progress) println(w io.Writer, line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
	fmt.Fprintln(w, line)
	if p.tty && !p.finished && p.total > 0 {
		p.draw()
	}
}

// finish removes the bar.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finished = true
	if p.drawn {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.drawn = false
	}
}

const barWidth = 30

// draw redraws the bar: [=========>          ] 4213/10000 users  42%  1053/s  6s left
func (p *progress) draw() {
	filled := barWidth * p.done / p.total
	bar := strings.Repeat("=", filled)
	if filled < barWidth {
		bar += ">" + strings.Repeat(" ", barWidth-filled-1)
	}
	left := ""
	if elapsed := time.Since(p.start); p.done > 0 && p.done < p.total {
		remaining := time.Duration(float64(elapsed) / float64(p.done) * float64(p.total-p.done))
		left = "  " + remaining.Round(time.Second).String() + " left"
	}
	fmt.Fprintf(p.w, "\r\x1b[K[%s] %d/%d %s  %d%%  %s%s", bar, p.done, p.total, p.noun, p.done*100/p.total, p.rate(), left)
	p.drawn = true
	p.lastDraw = time.Now()
}

func (p *progress) rate() string {
	s := time.Since(p.start).Seconds()
	if s <= 0 {
		return "-/s"
	}
	return fmt.Sprintf("%.0f/s", float64(p.done)/s)
}
