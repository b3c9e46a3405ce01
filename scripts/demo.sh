#!/usr/bin/env bash
# The README's main command (make demo). For now it shows the identity and
# contact-directory workflow every deployment starts with; it grows into the
# full relay + partner nodes + drill demo as those programs land.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
keys="$root/$build/keys/renraku-keys"
demo="$root/$build/demo"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

[ -x "$keys" ] || { echo "demo: $keys missing: run 'make demo'" >&2; exit 1; }
rm -rf "$demo"
mkdir -p "$demo"
cd "$demo"

step "1. Every node makes its own keys (signing, encryption, transport)"
echo "The coordinator signs the contact directory; the relay routes; three"
echo "partner CSIRTs and an exercise controller take part. Secret keys stay"
echo "with their owner (mode 0600); only the .pub files are sent around."
run "$keys" gen --id coordinator --role coordinator --out keys
run "$keys" gen --id relay.demo --role relay --out keys
for n in jp.nisc us.cisa sg.csa; do
    run "$keys" gen --id $n --role partner --out keys
done
run "$keys" gen --id ctl.exercise --role controller --out keys
run "$keys" show keys/jp.nisc.pub

step "2. The coordinator builds the roster (the contact directory)"
run "$keys" roster init roster.json --framework demo-framework
run "$keys" roster add roster.json --pub keys/jp.nisc.pub --country JP \
    --org "National center of Incident readiness and Strategy for Cybersecurity" \
    --group g7 --group asean-plus \
    --contact "name=NISC duty desk;email=soc@nisc.example;phone=+81-3-0000-0000;hours=24/7;tz=Asia/Tokyo;lang=ja,en"
run "$keys" roster add roster.json --pub keys/us.cisa.pub --country US \
    --org "Cybersecurity and Infrastructure Security Agency" --group g7 \
    --contact "name=CISA Central;email=central@cisa.example;hours=24/7;tz=America/New_York;lang=en"
run "$keys" roster add roster.json --pub keys/sg.csa.pub --country SG \
    --org "Cyber Security Agency of Singapore" --group asean-plus \
    --contact "name=SingCERT;email=singcert@csa.example;hours=09:00-18:00;tz=Asia/Singapore;lang=en,zh"
run "$keys" roster add roster.json --pub keys/relay.demo.pub --country JP \
    --org "Framework relay operator"
run "$keys" roster add roster.json --pub keys/ctl.exercise.pub --country JP \
    --org "Exercise control cell"

step "3. The coordinator signs it; every node pins the coordinator's key"
run "$keys" roster sign roster.json --key keys/coordinator.key --out roster.signed
vkey=$("$keys" vkey keys/coordinator.pub)
echo "pinned coordinator key: $vkey"
run "$keys" roster verify roster.signed --coordinator "$vkey"
run "$keys" roster show roster.signed --coordinator "$vkey"

step "4. A node refuses what it must refuse"
cp roster.signed tampered.signed
# Change one organisation name inside the signed text.
sed -i 's/Cyber Security Agency of Singapore/Cyber Security Agency of Atlantis/' tampered.signed
echo "A roster altered after signing:"
"$keys" roster verify tampered.signed --coordinator "$vkey" || echo "  -> refused (exit $?)"
echo "A replayed older roster, once serial 1 is held:"
"$keys" roster verify roster.signed --coordinator "$vkey" --held-serial 1 || echo "  -> refused (exit $?)"

step "5. us.cisa reports a key compromise: revoke and publish serial 2"
run "$keys" roster revoke roster.json --id us.cisa --reason "key compromise reported 2026-11-22"
run "$keys" roster sign roster.json --key keys/coordinator.key --out roster.signed
run "$keys" roster show roster.signed --coordinator "$vkey"

step "Where everything lives"
echo "  $demo/keys/          secret (.key, 0600) and public (.pub) key files"
echo "  $demo/roster.json    the roster people edit"
echo "  $demo/roster.signed  the signed roster that travels (c2sp signed note)"
echo
echo "Next: the relay, partner daemons and drills use these files (see README)."
