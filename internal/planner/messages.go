package planner

import (
	"fmt"
	"strconv"
	"strings"
)

// msgKey identifies a license failure message by its ingredients, so each
// distinct message is formatted once and shared by every user it applies
// to. The meaning of a, b, c, d and s depends on r.
type msgKey struct {
	r          reason
	a, b, c, d int32
	s          string
}

// message returns the ID of the message for k, formatting it on first use.
func (w *worker) message(k msgKey) int32 {
	if id, ok := w.msgCache[k]; ok {
		return id
	}
	t := &w.p.msgs
	t.mu.Lock()
	id, ok := t.ids[k]
	if !ok {
		id = t.items.add(w.p.formatMessage(k))
		t.ids[k] = id
	}
	t.mu.Unlock()
	w.msgCache[k] = id
	return id
}

// formatMessage writes the message of a license failure. Messages say what
// to do and contain no figure that changes when other users change.
func (p *planner) formatMessage(k msgKey) string {
	switch k.r {
	case reasonDuplicateUPN:
		w := p.users[k.a].obj
		return fmt.Sprintf("userPrincipalName %s is also used by UserLicense %s, which takes precedence (lowest name): delete this UserLicense or correct its userPrincipalName",
			w.Spec.UserPrincipalName, w.Name)
	case reasonSkuNotFound:
		return fmt.Sprintf("LicenseSku %s does not exist in this namespace: create it or remove the assignment", p.skuNames[k.a])
	case reasonUnknownServicePlan:
		field := "disabledPlans"
		if k.c == 1 {
			field = "enabledPlans"
		}
		return fmt.Sprintf("%s lists service plan %q in %s, but LicenseSku %s (%s) has no such plan: correct or remove the entry",
			p.labels[k.a], k.s, field, p.skuNames[k.b], p.displayName(k.b))
	case reasonUsageLocationRequired:
		return "spec.usageLocation is not set: set it to the two-letter country code where the user works (for example US or DE); no license takes effect without it"
	case reasonProhibitedInUsageLocation:
		return fmt.Sprintf("service plan %s of %s is not available in usage location %s: disable the plan or change the usage location",
			p.planNames[k.a], p.displayName(k.b), k.s)
	case reasonMutuallyExclusivePlans:
		return fmt.Sprintf("service plan %s of %s conflicts with %s, enabled through higher-ranked %s: disable one of the two plans or remove one of the assignments",
			p.planNames[k.a], p.skuNames[k.d], p.planNames[k.b], p.skuNames[k.c])
	case reasonMissingDependency:
		return fmt.Sprintf("service plan %s of %s requires %s, which no other license of the user enables: assign a license that includes %s or disable %s",
			p.planNames[k.a], p.skuNames[k.c], p.planNames[k.b], p.planNames[k.b], p.planNames[k.a])
	case reasonInsufficientSeats:
		s := p.skus[k.a]
		name := p.displayName(k.a)
		switch {
		case s.capacity == 0 && s.inactive:
			return fmt.Sprintf("%s has no usable seat: every subscription is Suspended or LockedOut; reactivate a subscription or purchase seats of %s", name, name)
		case s.capacity == 0:
			return fmt.Sprintf("%s has no seat: purchase seats of %s", name, name)
		default:
			return fmt.Sprintf("all %d seats of %s are assigned: purchase more seats of %s or remove assignments to free one", s.capacity, name, name)
		}
	}
	return ""
}

// text interns a composed message: users with the same situation share
// one string.
func (w *worker) text(b []byte) string {
	if s, ok := w.texts[string(b)]; ok {
		return s
	}
	s := string(b)
	w.texts[s] = s
	return s
}

// readyMessage summarises a user's licenses for its Ready condition:
// how many failed and why, naming up to three (and the message of a
// single failure).
func (w *worker) readyMessage(reqs []request, failed int) string {
	p := w.p
	if failed == 0 {
		for len(w.allActive) <= len(reqs) {
			switch n := len(w.allActive); n {
			case 0:
				w.allActive = append(w.allActive, "no license is assigned")
			case 1:
				w.allActive = append(w.allActive, "the license is active")
			default:
				w.allActive = append(w.allActive, "all "+strconv.Itoa(n)+" licenses are active")
			}
		}
		return w.allActive[len(reqs)]
	}
	b := strconv.AppendInt(w.scratch.text[:0], int64(failed), 10)
	b = append(b, " of "...)
	b = strconv.AppendInt(b, int64(len(reqs)), 10)
	b = append(b, " licenses failed: "...)
	shown := 0
	for i := range reqs {
		if reqs[i].active() {
			continue
		}
		if shown == 3 {
			b = append(b, ", and "...)
			b = strconv.AppendInt(b, int64(failed-shown), 10)
			b = append(b, " more"...)
			break
		}
		if shown > 0 {
			b = append(b, ", "...)
		}
		b = append(b, p.skuNames[reqs[i].sku]...)
		b = append(b, ": "...)
		b = append(b, reqs[i].reason.String()...)
		shown++
	}
	if failed == 1 {
		for i := range reqs {
			if !reqs[i].active() {
				b = append(b, " ("...)
				b = append(b, p.msg(reqs[i].msg)...)
				b = append(b, ')')
			}
		}
	}
	w.scratch.text = b
	return w.text(b)
}

// joinLimited joins up to limit items and says how many were left out.
func joinLimited(items []string, limit int) string {
	if len(items) <= limit {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:limit], ", ") + ", and " + strconv.Itoa(len(items)-limit) + " more"
}

// plural returns "1 <one>" or "N <many>".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.FormatInt(n, 10) + " " + many
}
