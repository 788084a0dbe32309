// Package planner computes, for one namespace (tenant), the desired status of
// every LicenseSku, LicenseGroup and UserLicense from the objects alone. It is
// a pure function: no client, no clock (time is passed in), no randomness,
// no dependence on the order of its inputs. Controllers read the cache, call
// Plan and write the statuses that changed; `kubectl license plan` runs the
// very same function offline.
//
// The rules it implements are those of ../shared/DESIGN.md, "Semantics"
// (rules 1-11). This page is the map: where each rule lives, what the
// planner's numbers mean, and the order of the phases. Read it before
// changing a rule.
//
// # Identifiers
//
// Plan turns names into small integers once, so that the hot loops compare
// integers and bitsets, not strings:
//
//   - Service plan IDs (planner.planIDs) follow plan-name order, over every
//     plan a SKU in effect defines or requires. A set of plans is a bitset
//     (bitset.go); walking it yields plan names sorted.
//   - SKU IDs (planner.skuIDs) follow SKU-name order, over every name that a
//     LicenseSku defines or an assignment references (a missing SKU has an
//     ID and a nil skuInfo). When two objects share a name (only possible
//     in hand-made input), compareObjects picks the one in effect.
//   - Labels are the sources of a license: label 0 is Direct, then one per
//     distinct group name in name order, so label order is assignedBy order.
//   - Users are Input.Users indices. userInfo.winner says which object is
//     in effect for its case-folded userPrincipalName (rule 1, indexUPNs).
//
// # Combos, messages, requests
//
//   - A combo (combo in plan.go) is one set of enabled plans of one SKU,
//     interned in a table shared by the workers: every (user, SKU) with the
//     same plans shares it, with what the checks need precomputed (the
//     plans it conflicts with, the plans it requires, the usage locations
//     it is prohibited in) and its list of the SKU's plans it leaves off
//     (status.licenses[].disabledPlans). assignmentCombo turns one
//     disabledPlans/enabledPlans assignment into a combo; union combines
//     two (rule 3).
//   - A message is interned the same way (msgTable): a msgKey is built only
//     by the constructor of its kind (msgSkuNotFound, msgConflict, ...,
//     messages.go), which says what each field means. Messages never
//     contain figures that change when other users change, so a waiting
//     user's status is not rewritten at every grant.
//   - A request (plan.go) is one (user, SKU) with all its sources merged
//     (rule 2): the union combo of its valid sources, its rank (direct, the
//     highest group priority), its failure reason and message, its link to
//     the current status entry (cur) and flags. It is 24 bytes: there is
//     one per requested (user, SKU), so 100,000 users make about 300,000.
//     A user's requests are a window of a worker's chunk, sorted by SKU.
//
// # Phases
//
// Plan runs these phases in order (plan.go). The per-user phases run on
// workers, each over a contiguous range of users (parallel.go); what they
// share is read-only while they run or interned by content, and every
// per-worker tally is merged with commutative operations, so the result
// does not depend on the number of workers.
//
//  1. indexSKUs: plan and SKU IDs, capacity (Enabled and Warning
//     subscriptions, rule 8), the conflict relation, the full combo.
//  2. indexGroups: labels, each group license's combo and unknown plans.
//  3. indexUsers: the user in effect per userPrincipalName (rule 1) and a
//     label index for the selectors (membership.go).
//  4. resolveMembers: each group's members (by case-folded name or
//     selector) and, per user, its groups.
//  5. userRequests (requests.go): merge sources into requests, keep what
//     the status can list (listable: at most MaxUserLicenseStatuses entries
//     and a byte budget, holders first), and run the checks of one request
//     alone in order (rule 4): duplicate userPrincipalName, SkuNotFound,
//     UnknownServicePlan (no valid source left; an ignored invalid source
//     becomes a note), UsageLocationRequired, ProhibitedInUsageLocation.
//  6. allocate (allocate.go): rules 5-7.
//     keepHolders: every held request (Active or Disabled now) that passed
//     rule 4 keeps its seat, except those consistent() releases: kept
//     licenses whose requirements the kept ones do not enable, then the
//     lower-ranked of two conflicting ones, until nothing changes. The rest
//     are candidates. Each SKU's supply is then ample (every candidate
//     fits), scarce (some free seats, more candidates) or none.
//     walkAlone: a user with no candidate for a scarce SKU cannot be
//     affected by anyone else, so it walks its own candidates in queue
//     order, again until a walk grants nothing. For the other
//     ("coupled") users, settleIndependent decides at once the ample
//     candidates whose turn cannot matter (see there). walkQueue: the
//     coupled users share one queue: the scarce SKUs' candidates sorted
//     (direct, priority, waitingSince, userPrincipalName, SKU; the
//     userPrincipalName by a rank computed once, upnRanks) and merged by
//     their heads, each user's remaining ample candidates interleaved at
//     their place (advance), then walked again over the candidates that
//     waited for a dependency (flagDeferred) until a walk grants nothing.
//     This is the single namespace-wide walk of rule 6: two requests only
//     influence each other through a scarce SKU's seats or through their
//     user's licenses, and both orders are kept. failRest gives every
//     candidate left its rule 7 reason against the user's final licenses:
//     MutuallyExclusivePlans, MissingDependency (noting whether the SKU
//     that would provide the plan waits for a seat), InsufficientSeats.
//  7. userResult (userstatus.go): the desired status of each user, first
//     compared with the current one without building anything (most
//     users of a steady tenant are unchanged), built only when it differs.
//     Active, Disabled (a held seat of a SKU without usable subscription,
//     rule 8) or Error; Ready, DuplicatePlans (duplicates.go, rule 10) and
//     Stalled (present only when a license needs a spec change).
//     tallyGroups adds the user's outcome to its groups.
//  8. groupResult and skuResult (groupstatus.go, skustatus.go): the
//     summaries.
//
// # Invariants and tests
//
// invariants_test.go holds a naive reference model of rules 1-9 (one global
// queue, fully sorted, walked again and again) that every property test,
// every mutation sequence and FuzzPlan compare the planner with; it also
// checks maximality (no failed request could be granted on its own) and
// stability (a holder loses its seat only through its own SKU, spec or
// sources). v2_test.go has one case per behaviour allocation v2 fixed;
// plan_test.go and edge_test.go the tables per rule.
package planner
