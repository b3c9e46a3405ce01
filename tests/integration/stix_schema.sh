#!/usr/bin/env bash
# integration.clients.stix_schema: exports a few notices (every TLP level,
# every indicator type, sparse and full) with stix_export_tool and validates
# each bundle, and each object in it, against the official OASIS STIX 2.1
# JSON Schemas with python3-jsonschema (draft 2020-12, no network). Broken
# copies of a bundle must be refused, so a validator that accepts anything
# fails the test. A missing python3-jsonschema is a failure, not a skip.
# Usage: stix_schema.sh path/to/stix_export_tool path/to/stix2.1-schemas
set -u

TOOL=$(realpath -- "${1:?usage: stix_schema.sh TOOL SCHEMA_DIR}")
SCHEMAS=$(realpath -- "${2:?usage: stix_schema.sh TOOL SCHEMA_DIR}")
PY=${PYTHON:-python3}

fail() {
    echo "stix_schema.sh: FAIL: $*" >&2
    exit 1
}

[ -x "$TOOL" ] || fail "$TOOL is not an executable"
[ -f "$SCHEMAS/common/bundle.json" ] ||
    fail "$SCHEMAS has no common/bundle.json (the OASIS STIX 2.1 schemas)"
command -v "$PY" >/dev/null 2>&1 || fail "$PY not found (install python3)"
"$PY" -c 'import jsonschema' 2>/dev/null ||
    fail "python3-jsonschema is missing for $PY: apt-get install" \
        "python3-jsonschema (scripts/deps.sh installs it)"

T=$(mktemp -d /tmp/rk-stix-schema-XXXXXX) || exit 1
trap 'rm -rf "$T"' EXIT

cat >"$T/full.json" <<'EOF'
{"notice": {
  "incident_id": "JP-2026-0042",
  "title": "Ransomware at a power utility",
  "description": "Line one.\nLine two, with \"quotes\" and 日本語.",
  "purpose": "mitigation", "status": "in-progress", "tlp": "AMBER+STRICT",
  "severity": "critical", "category": "malicious-code",
  "rsit_type": "ransomware", "sectors": ["energy", "health"],
  "indicators": [
    {"type": "ipv4-addr", "value": "192.0.2.1", "description": "C2"},
    {"type": "ipv6-addr", "value": "2001:db8::1"},
    {"type": "domain-name", "value": "bad.example"},
    {"type": "url", "value": "http://bad.example/it's\\here"},
    {"type": "email-addr", "value": "phish@bad.example"},
    {"type": "file:hashes.SHA-256",
     "value": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"type": "file:hashes.MD5", "value": "d41d8cd98f00b204e9800998ecf8427e"},
    {"type": "file:hashes.SHA-1",
     "value": "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    {"type": "asn", "value": "AS64500"}
  ],
  "requested_action": "Block the address.",
  "contact": "soc@example.org",
  "references": ["https://example.org/advisory/1", "CVE-2026-0001"],
  "detected": "2026-11-22T07:03:20.005Z"
}}
EOF
for level in CLEAR GREEN AMBER RED; do
    printf '{"notice": {"incident_id": "I-%s", "title": "Minimal %s",
      "tlp": "%s", "indicators": [{"type": "mutex", "value": "a'"'"'b"}]}}\n' \
        "$level" "$level" "$level" >"$T/min-$level.json"
done

bundles=()
for n in "$T"/full.json "$T"/min-*.json; do
    b="${n%.json}.bundle.json"
    "$TOOL" "$n" >"$b" || fail "stix_export_tool $n"
    bundles+=("$b")
done

"$PY" - "$SCHEMAS" "${bundles[@]}" <<'EOF'
import copy
import json
import os
import sys

from jsonschema import Draft202012Validator

schema_dir, paths = sys.argv[1], sys.argv[2:]
by_id, by_rel = {}, {}
for root, _, files in os.walk(schema_dir):
    for f in files:
        if f.endswith(".json"):
            full = os.path.join(root, f)
            with open(full, encoding="utf-8") as fh:
                s = json.load(fh)
            by_id[s["$id"]] = s
            by_rel[os.path.relpath(full, schema_dir)] = s

try:  # jsonschema >= 4.18
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    registry = Registry().with_resources(
        (i, Resource.from_contents(s, default_specification=DRAFT202012))
        for i, s in by_id.items())

    def validator(schema):
        return Draft202012Validator(schema, registry=registry)

    api = "referencing.Registry"
except ImportError:  # Debian's 4.10: RefResolver, and never the network
    from jsonschema import RefResolver

    def offline(uri):
        raise RuntimeError("refusing to fetch " + uri)

    def validator(schema):
        r = RefResolver(base_uri=schema["$id"], referrer=schema, store=by_id,
                        handlers={"http": offline, "https": offline})
        return Draft202012Validator(schema, resolver=r)

    api = "RefResolver"

for s in by_id.values():
    Draft202012Validator.check_schema(s)

SCHEMA_OF = {"marking-definition": "common/marking-definition.json",
             "relationship": "sros/relationship.json"}
REF_KEYS = ("created_by_ref", "source_ref", "target_ref")
LIST_KEYS = ("object_marking_refs", "object_refs")


# bundle.json's list of object schemas has no incident, note, grouping,
# location or opinion, and its fallback for other types is oneOf [core,
# cyber-observable-core], which an SDO with created and modified matches
# twice: no bundle holding an incident or a note can pass it. So bundle.json
# checks the bundle with the types it lists, and every object, listed or
# not, is checked against its own schema (sdos/incident.json, ...).
BUNDLE = by_rel["common/bundle.json"]
LISTED = {os.path.basename(r["$ref"])[:-5] for r in
          BUNDLE["properties"]["objects"]["items"]["anyOf"][0]["oneOf"]}
unlisted_seen = set()


def problems(bundle):
    out = []
    listed = dict(bundle)
    listed["objects"] = [o for o in bundle.get("objects", [])
                         if o.get("type") in LISTED]
    unlisted_seen.update(o.get("type") for o in bundle.get("objects", [])
                         if o.get("type") not in LISTED)
    for e in validator(BUNDLE).iter_errors(listed):
        out.append("bundle at %s: %s" % (list(e.absolute_path),
                                         e.message[:300]))
    ids = {o.get("id") for o in bundle.get("objects", [])}
    for i, o in enumerate(bundle.get("objects", [])):
        rel = SCHEMA_OF.get(o.get("type"), "sdos/%s.json" % o.get("type"))
        if rel not in by_rel:
            out.append("objects[%d]: no schema %s" % (i, rel))
            continue
        for e in validator(by_rel[rel]).iter_errors(o):
            out.append("objects[%d] (%s) at %s: %s" % (
                i, rel, list(e.absolute_path), e.message[:300]))
        refs = [o[k] for k in REF_KEYS if k in o]
        refs += [r for k in LIST_KEYS for r in o.get(k, [])]
        for r in refs:
            if r not in ids:
                out.append("objects[%d]: %s is not in the bundle" % (i, r))
    return out


failed = 0
n_objects = 0
for p in paths:
    with open(p, encoding="utf-8") as fh:
        b = json.load(fh)
    n_objects += len(b["objects"])
    for msg in problems(b):
        print("FAIL: %s: %s" % (os.path.basename(p), msg))
        failed += 1

# Broken copies must be refused, or the validation above proves nothing.
with open(paths[0], encoding="utf-8") as fh:
    good = json.load(fh)


def first(b, t):
    return next(o for o in b["objects"] if o["type"] == t)


def no_pattern(b):
    del first(b, "indicator")["pattern"]


def no_millis(b):
    first(b, "incident")["created"] = "2026-11-22T07:18:00Z"


def bad_uuid(b):
    first(b, "identity")["id"] = "identity--not-a-uuid"


def bad_tlp(b):
    first(b, "marking-definition")["definition_type"] = "tlp"


def no_note_refs(b):
    del first(b, "note")["object_refs"]


for mutate in (no_pattern, no_millis, bad_uuid, bad_tlp, no_note_refs):
    b = copy.deepcopy(good)
    mutate(b)
    if not problems(b):
        print("FAIL: the schemas accepted a bundle with %s" % mutate.__name__)
        failed += 1

try:
    from importlib.metadata import version
    jv = version("jsonschema")
except Exception:
    jv = "?"
print("validated %d bundles, %d objects against %d schemas with jsonschema "
      "%s (%s); 5 broken bundles refused; %s checked against their own "
      "schema only" % (len(paths), n_objects, len(by_id), jv, api,
                       ", ".join(sorted(unlisted_seen))))
sys.exit(1 if failed else 0)
EOF
rc=$?
[ $rc -eq 0 ] || fail "schema validation (see above)"
echo "stix_schema.sh: PASS"
