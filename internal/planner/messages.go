package planner

import (
	"fmt"
	"strconv"
	"strings"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// msgKind says which sentence a msgKey stands for.
type msgKind uint8

const (
	kindDuplicateUPN msgKind = iota
	kindSkuNotFound
	kindUnknownPlan
	kindIgnoredSource
	kindUsageLocationRequired
	kindProhibited
	kindConflict
	kindMissingDependency
	kindSeats
	kindInactive
)

// msgKey identifies a license message by its ingredients, so each distinct
// message is formatted once and shared by every user it applies to. Build
// it only with the constructor of its kind (msgSkuNotFound, msgConflict,
// ...), which says what each field means for that kind.
type msgKey struct {
	kind        msgKind
	sku         int32 // the request's SKU
	plan        int32 // the plan at fault
	other       int32 // the other plan (conflict, dependency), or a user / label
	otherSKU    int32 // the SKU of the other plan, -1 if none
	text        string
	flag, flag2 bool
}

// msgDuplicateUPN: another UserLicense (Input.Users index winner) is in
// effect for the userPrincipalName.
func msgDuplicateUPN(winner int32) msgKey {
	return msgKey{kind: kindDuplicateUPN, other: winner}
}

// msgSkuNotFound: no LicenseSku named sku exists.
func msgSkuNotFound(sku int32) msgKey { return msgKey{kind: kindSkuNotFound, sku: sku} }

// msgUnknownPlan: the source with the given label names plan u of sku,
// which the SKU lacks, and no valid source is left.
func msgUnknownPlan(label, sku int32, u unknownPlan) msgKey {
	return msgKey{kind: kindUnknownPlan, sku: sku, other: label, text: u.plan, flag: u.enabled}
}

// noteIgnoredSource: like msgUnknownPlan, but other sources are valid: the
// source is ignored and the license comes from the others.
func noteIgnoredSource(label, sku int32, u unknownPlan) msgKey {
	return msgKey{kind: kindIgnoredSource, sku: sku, other: label, text: u.plan, flag: u.enabled}
}

// msgUsageLocationRequired: the user has no usage location.
func msgUsageLocationRequired() msgKey { return msgKey{kind: kindUsageLocationRequired} }

// msgProhibited: plan of sku is not offered in usage location loc.
func msgProhibited(plan, sku int32, loc string) msgKey {
	return msgKey{kind: kindProhibited, sku: sku, plan: plan, text: loc}
}

// msgConflict: plan of sku conflicts with plan other of otherSKU, which
// the user holds.
func msgConflict(plan, sku, other, otherSKU int32) msgKey {
	return msgKey{kind: kindConflict, sku: sku, plan: plan, other: other, otherSKU: otherSKU}
}

// msgMissingDependency: plan of sku requires plan missing, which no
// license the user holds enables; provider (-1 if none) is the user's own
// request that would enable it, and waits says it waits for a seat.
func msgMissingDependency(plan, sku, missing, provider int32, waits bool) msgKey {
	return msgKey{kind: kindMissingDependency, sku: sku, plan: plan, other: missing, otherSKU: provider, flag: waits}
}

// msgSeats: sku has no free seat for the user.
func msgSeats(sku int32) msgKey { return msgKey{kind: kindSeats, sku: sku} }

// msgInactive: the user holds a seat of sku, whose subscriptions are all
// Suspended or LockedOut (state Disabled).
func msgInactive(sku int32) msgKey { return msgKey{kind: kindInactive, sku: sku} }

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

// formatMessage writes a license message. Messages say what to do and
// contain no figure that changes when other users change (else every
// waiting user's status would be rewritten at every grant).
func (p *planner) formatMessage(k msgKey) string {
	switch k.kind {
	case kindDuplicateUPN:
		w := p.users[k.other].obj
		return fmt.Sprintf("userPrincipalName %s (compared case-insensitively) is also used by UserLicense %s, which is in effect (it holds licenses, or is older, or has the lower name): delete this UserLicense or correct its userPrincipalName",
			w.Spec.UserPrincipalName, w.Name)
	case kindSkuNotFound:
		return fmt.Sprintf("LicenseSku %s does not exist in this namespace: create it or remove the assignment", p.skuNames[k.sku])
	case kindUnknownPlan:
		return fmt.Sprintf("%s lists service plan %q in %s, but LicenseSku %s (%s) has no such plan: correct or remove the entry",
			p.labels[k.other], k.text, planField(k.flag), p.skuNames[k.sku], p.displayName(k.sku))
	case kindIgnoredSource:
		return fmt.Sprintf("%s is ignored: it lists service plan %q in %s, but LicenseSku %s (%s) has no such plan; the license comes from the other assignments until the entry is corrected",
			p.labels[k.other], k.text, planField(k.flag), p.skuNames[k.sku], p.displayName(k.sku))
	case kindUsageLocationRequired:
		return "spec.usageLocation is not set: set it to the two-letter country code where the user works (for example US or DE); no license takes effect without it"
	case kindProhibited:
		return fmt.Sprintf("service plan %s of %s is not available in usage location %s: disable the plan or change the usage location",
			p.planNames[k.plan], p.displayName(k.sku), k.text)
	case kindConflict:
		held := "a license the user holds"
		if k.otherSKU >= 0 {
			held = p.skuNames[k.otherSKU] + ", which the user holds"
		}
		return fmt.Sprintf("service plan %s of %s conflicts with service plan %s of %s: disable one of the two plans or remove one of the assignments (a license the user holds is not taken away for a new one)",
			p.planNames[k.plan], p.skuNames[k.sku], p.planNames[k.other], held)
	case kindMissingDependency:
		missing := p.planNames[k.other]
		switch {
		case k.otherSKU < 0:
			return fmt.Sprintf("service plan %s of %s requires %s, which none of the user's licenses enables: assign a license that includes %s or disable %s",
				p.planNames[k.plan], p.skuNames[k.sku], missing, missing, p.planNames[k.plan])
		case k.flag:
			return fmt.Sprintf("service plan %s of %s requires %s, which comes with %s, itself waiting for a seat: %s follows as soon as %s is assigned",
				p.planNames[k.plan], p.skuNames[k.sku], missing, p.skuNames[k.otherSKU], p.skuNames[k.sku], p.skuNames[k.otherSKU])
		default:
			return fmt.Sprintf("service plan %s of %s requires %s, which comes with %s, but %s is not assigned either (see its reason): fix %s, assign another license that includes %s, or disable %s",
				p.planNames[k.plan], p.skuNames[k.sku], missing, p.skuNames[k.otherSKU], p.skuNames[k.otherSKU], p.skuNames[k.otherSKU], missing, p.planNames[k.plan])
		}
	case kindSeats:
		s := p.skus[k.sku]
		name := p.displayName(k.sku)
		switch {
		case s.capacity == 0 && s.inactive:
			return fmt.Sprintf("%s has no usable seat: every subscription is Suspended or LockedOut; reactivate a subscription or purchase seats of %s", name, name)
		case s.capacity == 0:
			return fmt.Sprintf("%s has no seat: purchase seats of %s", name, name)
		default:
			return fmt.Sprintf("all %d seats of %s are assigned: purchase more seats of %s or remove assignments to free one; waiting users get free seats in line (direct assignments, then group priority, then who waited longest)", s.capacity, name, name)
		}
	case kindInactive:
		name := p.displayName(k.sku)
		return fmt.Sprintf("every subscription of %s is Suspended or LockedOut: the user keeps the seat but its services are off until a subscription of %s is Enabled again", name, name)
	}
	return ""
}

func planField(enabled bool) string {
	if enabled {
		return "enabledPlans"
	}
	return "disabledPlans"
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

// readyMessage summarises a user's licenses for its Ready condition: how
// many are not in effect and why, naming up to three (and the message of a
// single one), and how many were not listed.
func (w *worker) readyMessage(reqs []request, notInEffect, unlisted int) string {
	p := w.p
	if notInEffect == 0 && unlisted == 0 {
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
	b := w.scratch.text[:0]
	if notInEffect > 0 {
		b = strconv.AppendInt(b, int64(notInEffect), 10)
		b = append(b, " of "...)
		b = strconv.AppendInt(b, int64(len(reqs)), 10)
		b = append(b, " licenses not in effect: "...)
		shown := 0
		for i := range reqs {
			r := &reqs[i]
			if p.state(r) == licv1.LicenseStateActive {
				continue
			}
			if shown == 3 {
				b = append(b, ", and "...)
				b = strconv.AppendInt(b, int64(notInEffect-shown), 10)
				b = append(b, " more"...)
				break
			}
			if shown > 0 {
				b = append(b, ", "...)
			}
			b = append(b, p.skuNames[r.sku]...)
			b = append(b, ": "...)
			b = append(b, p.reasonOf(r)...)
			shown++
		}
		if notInEffect == 1 {
			for i := range reqs {
				if r := &reqs[i]; p.state(r) != licv1.LicenseStateActive {
					msg := r.msg
					if r.active() {
						msg = p.skus[r.sku].inactiveMsg
					}
					b = append(b, " ("...)
					b = append(b, p.msg(msg)...)
					b = append(b, ')')
				}
			}
		}
	}
	if unlisted > 0 {
		if notInEffect > 0 {
			b = append(b, "; "...)
		}
		b = append(b, w.unlistedMessage(unlisted)...)
	}
	w.scratch.text = b
	return w.text(b)
}

// unlistedMessage says that requests beyond what a status lists are not
// assigned.
func (w *worker) unlistedMessage(unlisted int) string {
	return plural(int64(unlisted), "more requested license is", "more requested licenses are") +
		" not listed and not assigned: a status lists at most " + strconv.Itoa(licv1.MaxUserLicenseStatuses) +
		" licenses (fewer when their entries are very large); remove assignments"
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
