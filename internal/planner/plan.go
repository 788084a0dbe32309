package planner

import (
	"math"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	licv1 "github.com/licenseops/license-operator/api/v1alpha1"
)

// minPriority ranks a request that has no group source below every request
// that has one (priorities are bounded to ±1,000,000 by the CRD schema).
const minPriority = math.MinInt32

// reason is why a request holds no seat, or reasonNone. The checks of one
// request alone (rule 4) run in this order, the first failing one deciding;
// the reasons of the queue (rule 7) come after.
type reason uint8

const (
	reasonNone reason = iota
	reasonDuplicateUPN
	reasonSkuNotFound
	reasonUnknownServicePlan
	reasonUsageLocationRequired
	reasonProhibitedInUsageLocation
	reasonMutuallyExclusivePlans
	reasonMissingDependency
	reasonInsufficientSeats
	// reasonSubscriptionInactive is not a failure: the user holds the seat
	// but the SKU has no usable subscription (state Disabled). It is only
	// used to tally group outcomes.
	reasonSubscriptionInactive
	numReasons
)

// reasonNames maps a reason to its API constant.
var reasonNames = [numReasons]string{
	reasonNone:                      "",
	reasonDuplicateUPN:              licv1.ReasonDuplicateUserPrincipalName,
	reasonSkuNotFound:               licv1.ReasonSkuNotFound,
	reasonUnknownServicePlan:        licv1.ReasonUnknownServicePlan,
	reasonUsageLocationRequired:     licv1.ReasonUsageLocationRequired,
	reasonProhibitedInUsageLocation: licv1.ReasonProhibitedInUsageLocation,
	reasonMutuallyExclusivePlans:    licv1.ReasonMutuallyExclusivePlans,
	reasonMissingDependency:         licv1.ReasonMissingDependency,
	reasonInsufficientSeats:         licv1.ReasonInsufficientSeats,
	reasonSubscriptionInactive:      licv1.ReasonSubscriptionInactive,
}

func (r reason) String() string { return reasonNames[r] }

// planner holds the indexes of one Plan call. Apart from the synchronized
// intern tables (combos, msgs), workers only read it while they run.
type planner struct {
	in  Input
	now metav1.Time
	// nowPtr is the waitingSince of users who start waiting now, shared.
	nowPtr *metav1.Time

	// Service plans by ID. IDs follow name order, so walking a bitset
	// yields plan names sorted.
	planNames    []string
	planIDs      map[string]int32
	conflicts    []bitset // symmetric conflict relation by plan ID; nil: none
	anyConflicts bool
	anyRequires  bool

	// SKUs by ID. IDs follow name order and cover every name that is
	// defined by a LicenseSku or referenced by an assignment.
	skuNames []string
	skuIDs   map[string]int32
	skus     []*skuInfo // nil where no LicenseSku has the name
	skuOwner []int32    // per Input.SKUs index: SKU ID when that object is in effect, else -1

	combos comboTable
	msgs   msgTable

	// Sources: label 0 is Direct, then one label per distinct group name
	// in name order, so label order is assignedBy order.
	labels     []string
	labelLists [][]string // assignedBy list holding just that label
	maxLabel   int        // length of the longest label
	groups     []groupInfo
	groupOrder []int32       // Input.Groups indices sorted by name
	unknowns   []unknownPlan // unknown plans of group licenses, see groupLicense
	users      []userInfo
	byUPN      map[string]int32 // case-folded UPN -> Input.Users index of the user in effect
	folded     map[int32]string // case-folded UPN of the users whose UPN has upper case, see upn
	dupUPNs    bool             // some userPrincipalName is used twice
	userGroups []int32          // groups of all users, see groupsOf
	groupOffs  []int32

	queue seatQueue // the namespace's queue for scarce seats, see allocate.go

	workers []*worker
}

// userInfo is what the planner knows about one Input.Users entry.
type userInfo struct {
	obj *licv1.UserLicense
	// winner is the Input.Users index of the user in effect for this
	// object's userPrincipalName; the object itself unless it lost.
	winner int32
	// unlisted counts the SKUs requested beyond what the status can list
	// (MaxUserLicenseStatuses or the status byte budget): not assigned.
	unlisted int32
	// The user's requests, sorted by SKU, are a window of a chunk of a
	// worker: workers[chunk>>chunkWorkerShift].reqChunks[chunk&...][off:off+n].
	chunk, off, n int32
	// folded: its case-folded userPrincipalName differs from the spec's
	// and is in planner.folded.
	folded bool
}

func (u *userInfo) loser(self int32) bool { return u.winner != self }

// groupInfo is what the planner knows about one Input.Groups entry.
type groupInfo struct {
	obj      *licv1.LicenseGroup
	name     string // obj.Name
	label    int32
	priority int32
	licenses []groupLicense
	skus     []int32 // distinct SKU IDs of licenses, ascending
	selector labels.Selector
	selErr   string
	// unknown is the smallest plan its licenses name that their SKU lacks
	// (see unknownPlan) and the SKU, and nUnknown how many licenses do.
	unknown    unknownPlan
	unknownSKU int32
	nUnknown   int32
	members    []int32 // Input.Users indices, ascending
	// unresolved lists spec.members without a UserLicense, sorted, all of them.
	unresolved []string
	tally      groupTally
}

// groupTally accumulates the outcome of a group's licenses over its members.
type groupTally struct {
	errors   int32             // members with a license of the group not in effect
	waiting  []int64           // members waiting for a seat, per skus entry
	byReason [numReasons]int64 // failed (member, SKU) pairs per reason
	failures failureList
}

// groupLicense is one spec.licenses entry of a group, resolved.
type groupLicense struct {
	sku     int32
	combo   int32 // -1 when the SKU does not exist
	unknown int32 // index in planner.unknowns, -1 if none
}

// unknownPlan is a disabledPlans/enabledPlans entry naming a plan the SKU
// lacks; the zero value means none.
type unknownPlan struct {
	plan    string
	enabled bool // listed in enabledPlans (else disabledPlans)
	found   bool
}

// skuInfo is a LicenseSku in effect, with its seat accounting.
type skuInfo struct {
	obj      *licv1.LicenseSku
	id       int32
	part     string
	capacity int64
	// inactive: the SKU has subscriptions and none of them is usable.
	inactive bool
	warning  []string // names of subscriptions in their grace period
	plans    bitset
	defs     map[int32]*planDef
	full     int32 // combo with every plan enabled
	// planBytes bounds the JSON of a disabledPlans list of the SKU.
	planBytes int
	seatMsg   int32 // message of its InsufficientSeats failures
	// inactiveMsg is the message of its Disabled licenses.
	inactiveMsg int32

	// Seat accounting: holders kept their seat (rule 5), granted got a new
	// one (rule 6), waiting failed with InsufficientSeats, requested is
	// every request in effect.
	holders, granted, waiting, requested int64
	// cands counts the requests that are candidates for a new seat.
	cands int64
	// free is what is left for new grants while the queue is walked; see
	// seatQueue.
	free int64
	// supply classifies the SKU for the queue, see seatSupply.
	supply seatSupply
}

// planDef is a service plan as a given SKU defines it.
type planDef struct {
	requires      bitset
	unavailableIn []string
}

// combo is a set of enabled plans of one SKU, interned: every (user, SKU)
// with the same plans shares it, including its sorted list of the SKU's
// plans it leaves off.
type combo struct {
	sku        int32
	plans      bitset
	disabled   []string         // the SKU's plans not in plans, sorted
	conflicts  bitset           // plans conflicting with an enabled one; nil if none
	requires   bitset           // plans the enabled ones require; nil if none
	prohibited map[string]int32 // usage location -> smallest enabled plan unavailable there
}

// request is one (user, SKU) with every source asking for it merged.
// There is one per requested (user, SKU), so it is kept small.
type request struct {
	sku int32
	// combo is the union of what the valid sources enable; -1 when the SKU
	// does not exist or no source is valid.
	combo int32
	// label is the source label when nlabs is 1, else the smallest one
	// (the others are recomputed when needed, see sourceLabels).
	label int32
	prio  int32 // highest priority of its valid group sources, minPriority if none
	msg   int32 // failure message, when reason is set
	nlabs uint8 // distinct source labels, saturating at MaxUint8
	// cur is the index of the SKU's entry in the current status, -1 if
	// none, curFar if beyond what an int8 holds (see current).
	cur    int8
	flags  requestFlags
	reason reason
}

// curFar marks a current entry too far down the list for request.cur.
const curFar = math.MinInt8

// requestFlags are boolean properties of a request.
type requestFlags uint8

const (
	flagDirect        requestFlags = 1 << iota // assigned directly (by a valid source)
	flagHeld                                   // the current status holds it (Active or Disabled)
	flagActive                                 // it holds a seat in the desired status
	flagQueued                                 // a candidate for a new seat (rule 6)
	flagDone                                   // decided by the queue: granted or failed for good
	flagProviderWaits                          // MissingDependency, but the SKU enabling the plan waits for a seat
	flagDeferred                               // the queue met it before a dependency it needs: try again next walk
	flagNote                                   // an invalid source was ignored: see worker.notes
)

func (r *request) direct() bool { return r.flags&flagDirect != 0 }
func (r *request) held() bool   { return r.flags&flagHeld != 0 }
func (r *request) active() bool { return r.flags&flagActive != 0 }

// Plan computes the desired status of every object of one namespace. It
// never modifies its input and never panics (a panic in one of its
// goroutines is re-raised in the caller's); the result depends only on the
// objects (not on their order, nor on scheduling). doc.go explains how.
func Plan(in Input) *Result {
	p := newPlanner(in)
	p.indexSKUs()
	p.indexGroups()
	idx := p.indexUsers()
	p.resolveMembers(idx)
	p.eachUserRange(func(w *worker, lo, hi int) {
		for ui := lo; ui < hi; ui++ {
			w.userRequests(int32(ui))
		}
	})
	p.allocate()

	res := &Result{
		SKUs:   make([]SkuResult, len(in.SKUs)),
		Groups: make([]GroupResult, len(in.Groups)),
		Users:  make([]UserResult, len(in.Users)),
	}
	p.prepareResults()
	p.eachUserRange(func(w *worker, lo, hi int) {
		for ui := lo; ui < hi; ui++ {
			res.Users[ui] = w.userResult(int32(ui))
			w.tallyGroups(int32(ui))
		}
	})
	p.mergeTallies()
	for i := range in.Groups {
		res.Groups[i] = p.groupResult(int32(i))
	}
	for i := range in.SKUs {
		res.SKUs[i] = p.skuResult(int32(i))
	}
	return res
}

func newPlanner(in Input) *planner {
	now := in.Now
	if now.IsZero() {
		// Never read the clock: a zero Now becomes the Unix epoch, so that
		// meta.SetStatusCondition does not substitute time.Now().
		now = metav1.Unix(0, 0)
	}
	nowCopy := now
	p := &planner{
		in:      in,
		now:     now,
		nowPtr:  &nowCopy,
		planIDs: map[string]int32{},
		skuIDs:  map[string]int32{},
	}
	p.byUPN = make(map[string]int32, len(in.Users))
	p.folded = map[int32]string{}
	p.combos.ids = map[string]int32{}
	p.msgs.ids = map[msgKey]int32{}
	// The number of workers is fixed here, once: every phase splits the
	// work the same way.
	for k := range workerCount(len(in.Users)) {
		p.workers = append(p.workers, newWorker(p, k))
	}
	return p
}
