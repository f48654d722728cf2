package quota

// Claim and grant creation policies (Milo ClaimCreationPolicy and
// GrantCreationPolicy): the types, and applying, deleting and reading
// them. Admission and grant provisioning are in admission.go.

/*
#include "shim.h"
*/
import "C"

import "unsafe"

// MaxConstraints is the most constraints one policy may carry.
const MaxConstraints = C.QUOTA_MAX_CONSTRAINTS

// TriggerRef names the objects a policy reacts to (Milo
// trigger.resource), compared exactly with an object's "apiVersion" and
// "kind".
type TriggerRef struct {
	APIVersion string // a version alone for the core group ("v1"), or "group/version"
	Kind       string // [A-Z][A-Za-z0-9]*
}

// Constraint is an expression over the policy's variables (trigger; for
// claim policies also user and requestInfo) that must yield a bool.
// One that yields false makes the policy skip the object: it is never a
// denial. Message says what it checks and is quoted when the expression
// fails to evaluate.
type Constraint struct {
	Expression string // 1-1024 bytes of the CEL subset of doc/expressions.md
	Message    string // optional, at most 256 bytes
}

// RequestTemplate is one request of a claim template: ResourceType and
// the dimension values are templates ({{ expression }}), Amount and the
// dimension keys literal.
type RequestTemplate struct {
	ResourceType string // a literal type must be registered when the policy is applied
	Amount       int64  // > 0
	Dimensions   map[string]string
}

// ClaimTemplate is what a claim policy renders (Milo
// resourceClaimTemplate). Name, GenerateName, Namespace and the
// Namespace and Name of Consumer and Resource are templates; the kinds
// and api groups are literal.
//
// Set exactly one of Name and GenerateName. A generated name is the
// rendered prefix and a 12-character suffix derived from the policy's
// name and the trigger's identity (its metadata.uid, else its kind,
// namespace and name), so that a retried admission renders the same
// name and charges nothing twice. An empty Namespace means the trigger's
// metadata.namespace; a Resource without Kind, the trigger itself.
type ClaimTemplate struct {
	Name         string
	GenerateName string
	Namespace    string
	Consumer     Ref // who is charged (Milo spec.consumerRef); Kind and Name required
	Resource     Ref // the resourceRef; empty Kind: the trigger object
	Requests     []RequestTemplate
}

// ClaimPolicy is a ClaimCreationPolicy: the claim an object of one
// apiVersion and kind makes when it is admitted (Admit).
type ClaimPolicy struct {
	Name        string // identity, 1-253 bytes
	Trigger     TriggerRef
	Constraints []Constraint // 0 to MaxConstraints, all must hold
	Disabled    bool         // kept, but never evaluated (Milo spec.disabled)
	// FailOpen: when the policy fails (an expression, a template, or
	// the claim it renders is not valid), leave its claim out and allow
	// the admission (AdmitFailedOpen) instead of denying it.
	FailOpen   bool
	Claim      ClaimTemplate
	Generation int64 // output: 1 when created, +1 whenever an apply changes it
}

// GrantTemplate is what a grant policy renders (Milo
// resourceGrantTemplate). Name, Namespace and the Namespace and Name of
// Consumer are templates; the consumer's kind and group and the
// allowances are literal. An empty Namespace makes a cluster-wide grant.
type GrantTemplate struct {
	Name       string
	Namespace  string
	Consumer   Ref
	Allowances []Allowance
}

// ParentContext says where a rendered grant belongs (Milo
// parentContext): NameExpression, an expression over trigger, yields the
// parent's name, reported in GrantChange.Parent with the literal Kind
// and APIGroup. The zero value means none.
type ParentContext struct {
	APIGroup       string
	Kind           string
	NameExpression string
}

// GrantPolicy is a GrantCreationPolicy: the grant an object of one
// apiVersion and kind gives (SyncGrantPolicies).
type GrantPolicy struct {
	Name          string
	Trigger       TriggerRef
	Constraints   []Constraint
	Disabled      bool
	Grant         GrantTemplate
	ParentContext ParentContext
	Generation    int64 // output
}

// policyKind selects the claim or the grant policies in the C wrappers.
type policyKind C.int

const (
	claimPolicies policyKind = 0
	grantPolicies policyKind = 1
)

// ApplyClaimPolicy creates or replaces a claim policy (by name) and
// returns its generation. Everything is checked before anything changes:
// the name, the trigger, the constraints and templates (they must
// compile), the literal parts of the template and its literal resource
// types (registered, held by the consumer's kind). A refused policy
// leaves the one of that name as it was.
//
// Errors: ErrInvalid, ErrParse (an expression or template does not
// compile; the detail names the field with Milo's spelling, e.g.
// "policy.trigger.constraints[0].expression: column 7: ..."),
// ErrUnregistered, ErrNotAllowed, ErrNoMemory.
func (e *Engine) ApplyClaimPolicy(p ClaimPolicy) (generation int64, err error) {
	const op = "apply claim policy"
	a := arena{op: op}
	defer a.free()
	return e.applyPolicy(&a, claimPolicies, unsafe.Pointer(a.claimPolicy(&p)))
}

// ApplyGrantPolicy creates or replaces a grant policy (by name), checked
// as ApplyClaimPolicy; its allowances pass every check of ApplyGrant.
// Grants it already made stay until their triggers are synced again.
// Errors as ApplyClaimPolicy, and ErrOverflow.
func (e *Engine) ApplyGrantPolicy(p GrantPolicy) (generation int64, err error) {
	const op = "apply grant policy"
	a := arena{op: op}
	defer a.free()
	return e.applyPolicy(&a, grantPolicies, unsafe.Pointer(a.grantPolicy(&p)))
}

func (e *Engine) applyPolicy(a *arena, kind policyKind, p unsafe.Pointer) (int64, error) {
	if a.err != nil {
		return 0, a.err
	}
	c, err := e.enter(a.op)
	if err != nil {
		return 0, err
	}
	var gen C.int64_t
	s := cPolicyApply(c, kind, p, &gen)
	e.leave()
	return int64(gen), status(a.op, s)
}

// DeleteClaimPolicy deletes a claim policy. The claims it rendered stay.
// Errors: ErrNotFound.
func (e *Engine) DeleteClaimPolicy(name string) error {
	return e.deletePolicy("delete claim policy", claimPolicies, name)
}

// DeleteGrantPolicy deletes a grant policy. The grants it made stay
// until their trigger is deleted (SyncGrantPolicies with TriggerDeleted)
// or the host deletes them. Errors: ErrNotFound.
func (e *Engine) DeleteGrantPolicy(name string) error {
	return e.deletePolicy("delete grant policy", grantPolicies, name)
}

func (e *Engine) deletePolicy(op string, kind policyKind, name string) error {
	if err := checkText(op, "name", name); err != nil {
		return err
	}
	c, err := e.enter(op)
	if err != nil {
		return err
	}
	s := cPolicyDelete(c, kind, name)
	e.leave()
	return status(op, s)
}

// GetClaimPolicy reads one claim policy. Errors: ErrNotFound.
func (e *Engine) GetClaimPolicy(name string) (*ClaimPolicy, error) {
	return getPolicy(e, "get claim policy", claimPolicies, name, goClaimPolicy)
}

// GetGrantPolicy reads one grant policy. Errors: ErrNotFound.
func (e *Engine) GetGrantPolicy(name string) (*GrantPolicy, error) {
	return getPolicy(e, "get grant policy", grantPolicies, name, goGrantPolicy)
}

func getPolicy[P, T any](e *Engine, op string, kind policyKind, name string, conv func(*P) T) (*T, error) {
	if err := checkText(op, "name", name); err != nil {
		return nil, err
	}
	c, err := e.enter(op)
	if err != nil {
		return nil, err
	}
	var p unsafe.Pointer
	s := cPolicyGet(c, kind, name, &p)
	e.leave()
	if err := status(op, s); err != nil {
		return nil, err
	}
	defer freeC(p)
	v := conv((*P)(p))
	return &v, nil
}

// ListClaimPolicies lists the claim policies, sorted by name.
func (e *Engine) ListClaimPolicies() ([]ClaimPolicy, error) {
	return listPolicies(e, "list claim policies", claimPolicies, goClaimPolicy)
}

// ListGrantPolicies lists the grant policies, sorted by name.
func (e *Engine) ListGrantPolicies() ([]GrantPolicy, error) {
	return listPolicies(e, "list grant policies", grantPolicies, goGrantPolicy)
}

func listPolicies[P, T any](e *Engine, op string, kind policyKind, conv func(*P) T) ([]T, error) {
	c, err := e.enter(op)
	if err != nil {
		return nil, err
	}
	var list unsafe.Pointer
	var n C.size_t
	s := cPolicyList(c, kind, &list, &n)
	e.leave()
	if err := status(op, s); err != nil {
		return nil, err
	}
	return goList((**P)(list), n, conv), nil
}
