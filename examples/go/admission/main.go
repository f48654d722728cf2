// Command admission is a Pattern 1 ("admission blocking") validating
// webhook of the Milo quota capability: an http.Handler that takes an
// AdmissionReview, admits the object against the engine's
// ClaimCreationPolicies and answers allowed, or denied with status 403
// and Milo's message.
//
// The engine holds the reference policies: a GrantCreationPolicy gives
// every Organization its allowance of myservice.miloapis.com/resources
// when the Organization is added, and a ClaimCreationPolicy makes every
// MyResource claim one of them from the Organization its creator acts
// for. On CREATE the webhook admits the object (all the claims of its
// policies at once, or nothing); a dry-run request is decided but
// charges nothing; a retried request finds its claim (claim names derive
// from the object's uid) and charges nothing twice. On DELETE it renders
// the object's claim names again with a dry run and releases them.
//
// main runs a few requests through the handler with net/http/httptest,
// in process, and prints what the webhook answered.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"

	"libquota.dev/quota"
)

const (
	resources = "myservice.miloapis.com/resources"
	miloGroup = "resourcemanager.miloapis.com"
)

var acme = quota.Ref{APIGroup: miloGroup, Kind: "Organization", Name: "acme"}

// The parts of Kubernetes' admission.k8s.io/v1 AdmissionReview that the
// webhook reads and writes.
type (
	AdmissionReview struct {
		APIVersion string             `json:"apiVersion"`
		Kind       string             `json:"kind"`
		Request    *AdmissionRequest  `json:"request,omitempty"`
		Response   *AdmissionResponse `json:"response,omitempty"`
	}
	GroupVersionResource struct {
		Group    string `json:"group"`
		Version  string `json:"version"`
		Resource string `json:"resource"`
	}
	AdmissionRequest struct {
		UID       string               `json:"uid"`
		Resource  GroupVersionResource `json:"resource"`
		Name      string               `json:"name,omitempty"`
		Namespace string               `json:"namespace,omitempty"`
		Operation string               `json:"operation"`
		UserInfo  json.RawMessage      `json:"userInfo,omitempty"`
		Object    json.RawMessage      `json:"object,omitempty"`
		OldObject json.RawMessage      `json:"oldObject,omitempty"`
		DryRun    bool                 `json:"dryRun,omitempty"`
	}
	AdmissionResponse struct {
		UID      string   `json:"uid"`
		Allowed  bool     `json:"allowed"`
		Status   *Status  `json:"status,omitempty"`
		Warnings []string `json:"warnings,omitempty"`
	}
	Status struct {
		Code    int    `json:"code"`
		Reason  string `json:"reason,omitempty"`
		Message string `json:"message,omitempty"`
	}
)

// Webhook admits objects against the engine's claim policies.
type Webhook struct {
	Engine *quota.Engine
}

func (w *Webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(rw, "POST an AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	var review AdmissionReview
	err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, 3<<20)).Decode(&review)
	if err != nil || review.Request == nil {
		http.Error(rw, "the body is not an AdmissionReview with a request", http.StatusBadRequest)
		return
	}
	out := AdmissionReview{APIVersion: review.APIVersion, Kind: review.Kind, Response: w.review(review.Request)}
	rw.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(rw).Encode(out); err != nil {
		http.Error(rw, err.Error(), http.StatusInternalServerError)
	}
}

func (w *Webhook) review(req *AdmissionRequest) *AdmissionResponse {
	resp := &AdmissionResponse{UID: req.UID, Allowed: true}
	switch req.Operation {
	case "CREATE":
		// The object and the user go in as the JSON text they came as.
		res, err := w.Engine.Admit(quota.Admission{
			Trigger:     req.Object,
			User:        req.UserInfo, // absent: null
			RequestInfo: requestInfo(req, "create"),
			DryRun:      req.DryRun,
		})
		switch {
		case res.Allowed:
			if res.Outcome == quota.AdmitFailedOpen {
				resp.Warnings = []string{res.Message}
			}
		case res.Outcome != 0: // decided: denied, or a policy failed closed
			resp.Allowed = false
			resp.Status = &Status{Code: http.StatusForbidden, Reason: "Forbidden", Message: res.Message}
		default: // not decided: a bad object, or the engine failed
			resp.Allowed = false
			resp.Status = &Status{Code: http.StatusInternalServerError, Message: err.Error()}
			if errors.Is(err, quota.ErrInvalid) || errors.Is(err, quota.ErrParse) {
				resp.Status.Code = http.StatusBadRequest
			}
		}
	case "DELETE":
		// Claim names are a function of the policy and the object's
		// identity: a dry run renders them again, and the claims are
		// released. (A host that records the names at admission, say in
		// an annotation, can release them without it.)
		if req.DryRun {
			break
		}
		res, err := w.Engine.Admit(quota.Admission{Trigger: req.OldObject, User: req.UserInfo,
			RequestInfo: requestInfo(req, "delete"), DryRun: true})
		if res.Outcome == 0 { // not decided: no names (a denial still has them)
			resp.Warnings = append(resp.Warnings, "quota claims not released: "+err.Error())
		}
		for _, c := range res.Claims {
			if err := w.Engine.Release(c.Namespace, c.Name); err != nil && !errors.Is(err, quota.ErrNotFound) {
				resp.Warnings = append(resp.Warnings, err.Error())
			}
		}
	}
	return resp
}

// requestInfo is the variable requestInfo of the policies, as the API
// server's RequestInfo; denial messages name the resource by it.
func requestInfo(req *AdmissionRequest, verb string) map[string]any {
	return map[string]any{
		"verb":       verb,
		"apiGroup":   req.Resource.Group,
		"apiVersion": req.Resource.Version,
		"resource":   req.Resource.Resource,
		"namespace":  req.Namespace,
		"name":       req.Name,
	}
}

// setup makes the engine of the reference: the type, both policies, and
// the Organization acme, added.
func setup() (*quota.Engine, error) {
	e, err := quota.NewEngine(quota.Options{})
	if err != nil {
		return nil, err
	}
	err = e.CreateRegistration(quota.Registration{ResourceType: resources,
		ConsumerType: quota.KindRef{APIGroup: miloGroup, Kind: "Organization"},
		Class:        quota.ClassEntity, BaseUnit: "count", DisplayUnit: "resources"})
	if err == nil {
		_, err = e.ApplyGrantPolicy(quota.GrantPolicy{
			Name:    "myservice-default-grant",
			Trigger: quota.TriggerRef{APIVersion: miloGroup + "/v1alpha1", Kind: "Organization"},
			Grant: quota.GrantTemplate{
				Name:     "{{trigger.metadata.name}}-myservice-quota",
				Consumer: quota.Ref{APIGroup: miloGroup, Kind: "Organization", Name: "{{trigger.metadata.name}}"},
				Allowances: []quota.Allowance{{ResourceType: resources,
					Buckets: []quota.GrantBucket{{Amount: 2}}}},
			},
		})
	}
	if err == nil {
		_, err = e.ApplyClaimPolicy(quota.ClaimPolicy{
			Name:    "myservice-resource-quota",
			Trigger: quota.TriggerRef{APIVersion: "myservice.miloapis.com/v1alpha1", Kind: "MyResource"},
			// System objects are not counted: for them the policy does
			// not apply (a constraint that does not hold is no denial).
			Constraints: []quota.Constraint{{
				Expression: "!has(trigger.metadata.labels) || !has(trigger.metadata.labels.system)",
				Message:    "objects labelled system are not counted",
			}},
			Claim: quota.ClaimTemplate{
				GenerateName: "myresource-claim-",
				Consumer: quota.Ref{APIGroup: miloGroup, Kind: "Organization",
					Name: "{{user.extra['iam.miloapis.com/parent-name'][0]}}"},
				Requests: []quota.RequestTemplate{{ResourceType: resources, Amount: 1}},
			},
		})
	}
	var changes []quota.GrantChange
	if err == nil {
		// The watch of Organizations saw acme being added.
		changes, err = e.SyncGrantPolicies(map[string]any{
			"apiVersion": miloGroup + "/v1alpha1", "kind": "Organization",
			"metadata": map[string]any{"name": "acme", "namespace": "", "uid": "2c0f0c7e-org-acme"},
		}, quota.TriggerAdded)
	}
	if err != nil {
		e.Close()
		return nil, err
	}
	for _, c := range changes {
		fmt.Printf("organization acme added: policy %s made grant %s\n", c.Policy, c.Name)
	}
	return e, nil
}

// Requests, as the API server would send them.

var users = map[string]string{
	"alice": `{"username": "alice", "extra": {"iam.miloapis.com/parent-name": ["acme"]}}`,
	"bob":   `{"username": "bob"}`, // acts for no organization
}

func myResource(name, labels string) string {
	return fmt.Sprintf(`{"apiVersion": "myservice.miloapis.com/v1alpha1", "kind": "MyResource", `+
		`"metadata": {"name": %q, "namespace": "default", "uid": "uid-%s"%s}, "spec": {"size": "s"}}`,
		name, name, labels)
}

func review(op, user, name string, dryRun bool, labels string) AdmissionReview {
	req := &AdmissionRequest{
		UID:       fmt.Sprintf("req-%s-%s", op, name),
		Resource:  GroupVersionResource{"myservice.miloapis.com", "v1alpha1", "myresources"},
		Name:      name,
		Namespace: "default",
		Operation: op,
		UserInfo:  json.RawMessage(users[user]),
		DryRun:    dryRun,
	}
	if op == "DELETE" {
		req.OldObject = json.RawMessage(myResource(name, labels))
	} else {
		req.Object = json.RawMessage(myResource(name, labels))
	}
	return AdmissionReview{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview", Request: req}
}

// send posts body to the handler and prints the answer.
func send(h http.Handler, what string, body []byte) error {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body)))
	fmt.Printf("-- %s\n", what)
	if rec.Code != http.StatusOK {
		fmt.Printf("HTTP %d: %s", rec.Code, rec.Body.String())
		return nil
	}
	var out AdmissionReview
	if err := json.NewDecoder(rec.Body).Decode(&out); err != nil {
		return err
	}
	r := out.Response
	switch {
	case r.Allowed:
		fmt.Println("allowed")
	default:
		fmt.Printf("denied %d %s: %s\n", r.Status.Code, r.Status.Reason, r.Status.Message)
	}
	for _, w := range r.Warnings {
		fmt.Println("warning:", w)
	}
	return nil
}

func run() error {
	e, err := setup()
	if err != nil {
		return err
	}
	defer e.Close()
	hook := &Webhook{Engine: e}
	for _, step := range []struct {
		what         string
		op, user, rs string
		dryRun       bool
		labels       string
	}{
		{what: "alice creates r1", op: "CREATE", user: "alice", rs: "r1"},
		{what: "alice creates r2 (dry run)", op: "CREATE", user: "alice", rs: "r2", dryRun: true},
		{what: "alice creates r2", op: "CREATE", user: "alice", rs: "r2"},
		{what: "alice creates r3", op: "CREATE", user: "alice", rs: "r3"},
		{what: "the API server retries r1", op: "CREATE", user: "alice", rs: "r1"},
		{what: "alice creates sys-1, labelled system", op: "CREATE", user: "alice", rs: "sys-1",
			labels: `, "labels": {"system": "true"}`},
		{what: "bob creates r4", op: "CREATE", user: "bob", rs: "r4"},
		{what: "alice deletes r1", op: "DELETE", user: "alice", rs: "r1"},
		{what: "alice creates r3 again", op: "CREATE", user: "alice", rs: "r3"},
	} {
		body, err := json.Marshal(review(step.op, step.user, step.rs, step.dryRun, step.labels))
		if err == nil {
			err = send(hook, step.what, body)
		}
		if err != nil {
			return err
		}
	}
	if err := send(hook, "a body that is no AdmissionReview", []byte(`{"kind": "Pod"}`)); err != nil {
		return err
	}

	fmt.Println("-- final state")
	b, err := e.GetBucket(acme, resources)
	if err != nil {
		return err
	}
	fmt.Printf("bucket %s: allocated %d of %d\n", resources, b.Allocated, b.Limit)
	claims, err := e.ListClaims(quota.ClaimFilter{State: quota.StateGranted})
	if err != nil {
		return err
	}
	sort.Slice(claims, func(i, j int) bool { return claims[i].Resource.Name < claims[j].Resource.Name })
	for _, c := range claims {
		fmt.Printf("claim %s/%s for %s %s\n", c.Namespace, c.Name, c.Resource.Kind, c.Resource.Name)
	}
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "admission:", err)
		os.Exit(1)
	}
}
