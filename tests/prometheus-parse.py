"""Parse libquota's Prometheus exposition with the reference Python parser.

usage: prometheus-parse.py TEST_METRICS_BINARY
Runs the binary with --dump and checks that prometheus_client parses every
line back into the families and label values that were written. Exits 77
(skipped) when prometheus_client is not installed.
"""
import subprocess
import sys

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:
    print("prometheus_client is not installed: skipped")
    sys.exit(77)

text = subprocess.run([sys.argv[1], "--dump"], check=True, capture_output=True,
                      text=True).stdout
families = {f.name: f for f in text_string_to_metric_families(text)}

for name in ("quota_bucket_limit", "quota_bucket_allocated", "quota_bucket_available",
             "quota_bucket_utilization_ratio"):
    assert name in families, f"{name} missing"
    assert families[name].type == "gauge", families[name].type

samples = {(s.name, s.labels.get("resource_type")): s
           for f in families.values() for s in f.samples}
limit = samples[("quota_bucket_limit", "compute.example.com/vcpus")]
assert limit.labels["consumer_namespace"] == 'team "a"', limit.labels
assert limit.labels["consumer_name"] == "back\\slash", limit.labels
assert limit.value == 5, limit.value
assert samples[("quota_bucket_limit", "compute.example.com/gpus")].value == -1
assert abs(samples[("quota_bucket_utilization_ratio",
                    "compute.example.com/vcpus")].value - 0.6) < 1e-9

rates = {(s.name, s.labels.get("selector", ""), s.labels["period_ms"], s.labels["window"]): s.value
         for s in families["quota_rate_remaining"].samples
         + families["quota_rate_limit"].samples}
assert rates[("quota_rate_remaining", "", "1000", "rolling")] == 70, rates
assert rates[("quota_rate_limit", "region in (eu,us)", "60000", "calendar")] == 10, rates

decisions = {s.labels["result"]: s.value
             for s in families["quota_decisions"].samples}
assert decisions["allowed"] == 3 and decisions["denied_exceeded"] == 1, decisions
assert families["quota_decisions"].type == "counter"
print(f"parsed {sum(len(f.samples) for f in families.values())} samples "
      f"in {len(families)} families")
