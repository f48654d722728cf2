// Package quota is libquota for Go: multi-tenant resource quotas through
// cgo, with no dependencies beyond the standard library.
//
// An Engine holds registrations (the resource types), grants (amounts
// given to consumers), buckets (one per consumer and type, created on
// first use) and claims (named, atomic requests over several types):
//
//	e, err := quota.NewEngine(quota.Options{})
//	...
//	defer e.Close()
//	acme := quota.Ref{Kind: "Organization", Name: "acme"}
//	e.CreateRegistration(quota.Registration{ResourceType: vcpus,
//		ConsumerType: quota.KindRef{Kind: "Organization"}})
//	e.ApplyGrant(quota.Grant{Name: "acme-compute", Consumer: acme,
//		Allowances: []quota.Allowance{{ResourceType: vcpus,
//			Buckets: []quota.GrantBucket{{Amount: 16}}}}})
//	_, err = e.Acquire(quota.Claim{Name: "web-1", Consumer: acme,
//		Requests: []quota.Request{{ResourceType: vcpus, Amount: 4}}})
//	if errors.Is(err, quota.ErrExceeded) { ... }
//
// Errors: every failed library call returns an *Error (errors.As) whose
// Unwrap is one of the sentinels ErrInvalid ... ErrInternal (errors.Is).
// Its Detail is the library's message, read on the OS thread that made
// the call inside the same cgo call, so it is always the caller's own;
// its Answer names the binding bucket of a denied decision.
//
// Policies: ApplyClaimPolicy and ApplyGrantPolicy store Milo's
// ClaimCreationPolicies and GrantCreationPolicies; Admit runs the claim
// policies for an object (Pattern 1 admission: its claims are decided as
// one claim set, see ReserveSet), SyncGrantPolicies the grant policies.
// The objects are documents given as Go values (maps, slices, scalars,
// structs) or JSON text.
//
// Concurrency: every method of Engine and BucketHandle is safe for
// concurrent use; decisions stay exact under any interleaving. Close
// waits for calls in progress. Options.OnEvent receives claim
// transitions after the library call that delivered them has returned;
// AcquireWait and ReserveWait queue a claim and wait for it with a
// context.
//
// Building: the package finds libquota with pkg-config (quota.pc, or
// quota-uninstalled.pc of a meson build tree on PKG_CONFIG_PATH). See
// doc/bindings-go.md in the libquota repository.
package quota
